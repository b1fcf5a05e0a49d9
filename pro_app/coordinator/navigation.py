"""The staff menu: each feature module registers its entry (who may see it, and where it sits)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request, url_for

from .blueprint import bp

ALL_ROLES = ("admin", "coordinator", "analyst")


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy_gettext string
    roles: tuple[str, ...] = ALL_ROLES
    order: int = 50


NAV: list[NavItem] = []


def register(endpoint: str, label, roles: tuple[str, ...] = ALL_ROLES, order: int = 50) -> None:
    NAV.append(NavItem(endpoint, label, roles, order))
    NAV.sort(key=lambda item: item.order)


@bp.app_context_processor
def _staff_menu():
    def staff_menu():
        user = getattr(g, "user", None)
        if user is None:
            return []
        current = request.endpoint or ""
        return [(url_for(i.endpoint), i.label, current == i.endpoint) for i in NAV if user.role in i.roles]

    return {"staff_menu": staff_menu}
