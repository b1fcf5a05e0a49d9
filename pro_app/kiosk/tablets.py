"""Registered tablets: staff name a browser as a clinic tablet (a revocable device credential in a cookie of
its own), see each tablet with its last use, unlock one locked by wrong codes, and revoke one.

Code entry is throttled per device: a registered tablet under its own key ("tablet:<id>"), an unregistered
browser under its random session id ("browser:<id>") with a far smaller allowance, and every unregistered
browser together under one more key, since a new cookie is a new browser. The counters are throttle rows in
the database (security/throttle.py).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, request, session
from sqlalchemy import select

from .. import audit
from ..clock import utcnow
from ..extensions import db
from ..models import Tablet
from ..security import throttle
from ..vocabulary import Actor

COOKIE = "pro_app_tablet"
#: a registration lasts until revoked; the cookie is renewed on every use and kept this long by the browser
COOKIE_DAYS = 400
UNREGISTERED_ALL = "browsers:unregistered"
LOCKED = "tablet.locked"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def this_tablet() -> Tablet | None:
    """The registered, not revoked tablet this browser is (its cookie), or None."""
    if "tablet" not in g:
        token = request.cookies.get(COOKIE, "")
        found = None
        if 20 <= len(token) <= 100:
            found = db.session.scalar(select(Tablet).where(Tablet.token_hash == _digest(token),
                                                           Tablet.revoked_at.is_(None)))
        g.tablet = found
    return g.tablet


def device_key() -> str:
    """The throttling and session key of this browser: its tablet, or its random id when unregistered."""
    tablet = this_tablet()
    return f"tablet:{tablet.id}" if tablet else f"browser:{session.setdefault('device', secrets.token_urlsafe(16))}"


def device_limits() -> dict[str, int]:
    """The failed code entries allowed within the throttle window for this browser, by key."""
    settings = current_app.config["SETTINGS"]
    if this_tablet() is not None:
        return {device_key(): settings.code_attempts_per_tablet}
    return {device_key(): settings.code_attempts_unregistered,
            UNREGISTERED_ALL: settings.code_attempts_unregistered_all}


def name_of(device: str) -> str:
    """A device key as staff read it: the tablet's name, or "an unregistered browser"."""
    from flask_babel import gettext as _

    if device.startswith("tablet:") and device[7:].isdigit():
        tablet = db.session.get(Tablet, int(device[7:]))
        if tablet is not None:
            return tablet.name
    return _("an unregistered browser")


def note_failure() -> None:
    """Count a wrong code against this browser; the one that locks a registered tablet is audited."""
    keys = list(device_limits())
    throttle.fail(*keys)
    tablet = this_tablet()
    if tablet is not None:
        db.session.flush()
        window = current_app.config["SETTINGS"].throttle_window_seconds
        if throttle.failures(device_key(), window) == current_app.config["SETTINGS"].code_attempts_per_tablet:
            audit.record(LOCKED, "tablet", tablet.id, actor=Actor.SYSTEM, new={"name": tablet.name},
                         reason="too many wrong patient codes on this tablet")


def note_use() -> None:
    tablet = this_tablet()
    if tablet is not None:
        tablet.last_used_at = utcnow()


def register(user_id: int, name: str) -> tuple[Tablet, str]:
    """A new tablet named `name`; returns it and the plain token for this browser's cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    tablet = Tablet(name=name.strip(), token_hash=_digest(token), created_by_id=user_id)
    db.session.add(tablet)
    db.session.flush()
    audit.record("tablet.register", "tablet", tablet.id, actor=Actor.USER, user_id=user_id, new={"name": tablet.name})
    return tablet, token


def set_cookie(response, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=current_app.config["SETTINGS"].secure_cookies, path="/")


def revoke(user_id: int, tablet: Tablet) -> None:
    if tablet.revoked_at is None:
        tablet.revoked_at = utcnow()
        audit.record("tablet.revoke", "tablet", tablet.id, actor=Actor.USER, user_id=user_id,
                     new={"name": tablet.name})


def unlock(user_id: int, tablet: Tablet) -> None:
    """Code entry on the tablet again: its wrong codes are forgotten (the installation-wide count stays)."""
    throttle.clear(f"tablet:{tablet.id}")
    audit.record("tablet.unlock", "tablet", tablet.id, actor=Actor.USER, user_id=user_id, new={"name": tablet.name})


@dataclass(frozen=True)
class Row:
    tablet: Tablet
    locked: bool
    #: when code entry opens again by itself, if locked
    open_at: datetime | None


def listing() -> list[Row]:
    settings = current_app.config["SETTINGS"]
    window, limit = settings.throttle_window_seconds, settings.code_attempts_per_tablet
    rows = []
    for tablet in db.session.scalars(select(Tablet).order_by(Tablet.revoked_at.is_not(None), Tablet.name)):
        counted = throttle.times(f"tablet:{tablet.id}", window)
        locked = tablet.revoked_at is None and len(counted) >= limit
        open_at = counted[len(counted) - limit] + timedelta(seconds=window) if locked else None
        rows.append(Row(tablet, locked, open_at))
    return rows
