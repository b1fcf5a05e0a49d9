"""Checking a staff member's credentials: Argon2id, with failures slowed down by growing delays.

Failures are counted per account and per client (the address the request came from). Neither ever locks:
after a few free failures each key must wait a delay that doubles with every further failure, up to a
cap, and an attempt inside the delay is refused without counting. So someone guessing at an account from
elsewhere can slow it down by at most the account's cap, and the owner's right password works once that
much time has passed. Every refusal costs one Argon2 verification (a dummy hash for unknown accounts) and
gives the same answer, so neither the time nor the message tells which accounts exist. Each refusal is
audited (`user.login_failed`), and the records are kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import select

from .. import audit
from ..clock import utcnow
from ..extensions import db
from ..models import User
from ..vocabulary import Actor
from . import passwords, throttle

#: Longest e-mail address a form takes (RFC 5321); anything longer is never an account.
EMAIL_MAX = 254


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def account_key(email: str) -> str:
    """The throttle key of an account: a digest, so any typed address fits the column."""
    return "login:acct:" + hashlib.sha256(normalise_email(email).encode()).hexdigest()


def client_key(client: str) -> str:
    return "login:client:" + client[:64]


def client_address() -> str:
    return (request.remote_addr or "unknown") if has_request_context() else "local"


def delay_after(failures: int, free: int, cap: int) -> int:
    """Seconds to wait after the last counted failure: none for the first `free`, then 2, 4, 8... up to `cap`."""
    if failures < free:
        return 0
    return min(cap, 2 ** min(failures - free + 1, 30))


@dataclass(frozen=True)
class KeyState:
    failures: int
    last: datetime | None
    delay: int

    @property
    def open_at(self) -> datetime | None:
        return self.last + timedelta(seconds=self.delay) if self.last and self.delay else None

    def waiting(self, now: datetime) -> bool:
        return self.open_at is not None and now < self.open_at


def key_state(key: str, free: int, cap: int) -> KeyState:
    count, last = throttle.recent(key, current_app.config["SETTINGS"].throttle_window_seconds)
    return KeyState(count, last, delay_after(count, free, cap))


def account_state(email: str) -> KeyState:
    settings = current_app.config["SETTINGS"]
    return key_state(account_key(email), settings.login_attempts, settings.login_delay_cap_seconds)


def client_state(client: str) -> KeyState:
    settings = current_app.config["SETTINGS"]
    return key_state(client_key(client), settings.login_client_attempts, settings.login_client_delay_cap_seconds)


def _refuse(email: str, user: User | None, client: str, reason: str) -> None:
    audit.record("user.login_failed", "user", user.id if user else None, actor=Actor.SYSTEM,
                 new={"email": email[:120], "client": client[:64], "reason": reason})


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, unless the account or this client must still wait.

    The hash is upgraded when the hashing parameters have changed.
    """
    email = normalise_email(email)[:EMAIL_MAX + 1]
    password = password or ""
    client = client_address()
    user = db.session.scalar(select(User).where(User.email == email)) if len(email) <= EMAIL_MAX else None
    # One Argon2 verification on every path, before anything else is decided.
    right = passwords.verify_password(user.password_hash, password) if user else passwords.verify_dummy(password)
    now = utcnow()
    if account_state(email).waiting(now) or client_state(client).waiting(now):
        _refuse(email, user, client, "delayed")  # not counted: waiting is not a guess
        return None
    if user is None or not user.active or not right:
        throttle.fail(account_key(email), client_key(client))
        _refuse(email, user, client, "unknown" if user is None else "inactive" if not user.active else "password")
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    throttle.clear(account_key(email))
    return user
