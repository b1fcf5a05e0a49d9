"""Checking a staff member's credentials: Argon2id, with failures throttled per account in the database."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import User
from . import passwords, throttle


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, unless the account is locked after too many failures.

    Failures are counted per account (not per IP address: a clinic's devices share one), and the
    hash is upgraded when the hashing parameters have changed.
    """
    settings = current_app.config["SETTINGS"]
    email = (email or "").strip().lower()
    key = f"login:{email}"
    if throttle.is_blocked({key: settings.login_attempts}, settings.throttle_window_seconds):
        return None
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.active or not passwords.verify_password(user.password_hash, password):
        throttle.fail(key)
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    throttle.clear(key)
    return user
