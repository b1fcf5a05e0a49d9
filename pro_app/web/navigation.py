"""The staff menu: each feature's views register their entry (who may see it, and where it sits)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from flask import Flask, g, request, url_for

from ..access import EDITORS, EVERYONE
from ..vocabulary import Role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy_gettext string
    roles: frozenset[Role]
    order: int
    count: Callable | None = None  # user -> a number shown with the entry (open alerts), None: none


NAV: list[NavItem] = []


def return_to(target: str | None) -> str | None:
    """A page of this app to go back to (a path under /staff/, from a form's `back` field), else None:
    never another site (an open redirect)."""
    if not target or not target.startswith("/staff/") or target.startswith("//") or "\\" in target:
        return None
    return target


def register(endpoint: str, label, roles: Collection[Role] = EVERYONE, order: int = 50,
             count: Callable | None = None) -> None:
    if any(item.endpoint == endpoint for item in NAV):
        return
    NAV.append(NavItem(endpoint, label, frozenset(roles), order, count))
    NAV.sort(key=lambda item: item.order)


def install(app: Flask) -> None:
    @app.context_processor
    def _staff_menu():
        def staff_menu():
            user = getattr(g, "user", None)
            if user is None:
                return []
            current = request.endpoint or ""
            return [(url_for(i.endpoint), i.label, current == i.endpoint,
                     i.count(user) if i.count else None) for i in NAV if user.role in i.roles]

        return {"staff_menu": staff_menu, "editors": EDITORS}
