"""One listing helper for staff pages: a page of a query's rows, the total, and links that keep the filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from sqlalchemy import Select, func, select

from ..extensions import db

PER_PAGE = 50


@dataclass(frozen=True)
class Page:
    items: list[Any]
    number: int  # 1-based
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_row(self) -> int:
        return 0 if not self.total else (self.number - 1) * self.per_page + 1

    @property
    def last_row(self) -> int:
        return min(self.total, self.number * self.per_page)

    def url(self, number: int) -> str:
        """This listing at another page, with the same filters."""
        args = {**request.view_args, **request.args.to_dict(), "page": number}
        return url_for(request.endpoint, **args)


def page_number(raw: str | None) -> int:
    """The requested page (bad input: page 1, never a 500)."""
    try:
        return max(1, min(int(raw or 1), 10**6))
    except ValueError:
        return 1


def paginate(query: Select, number: int, per_page: int = PER_PAGE) -> Page:
    """A page of the query's rows (scalars) and the total count; a page past the end shows the last one."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    number = min(number, pages)
    items = db.session.scalars(query.limit(per_page).offset((number - 1) * per_page)).all()
    return Page(list(items), number, per_page, total)
