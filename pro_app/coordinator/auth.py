"""Staff login and logout: Argon2id, throttling per account in the database, server-side sessions."""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, redirect, request, url_for
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import User
from ..security import passwords, sessions, throttle


def login(email: str, password: str) -> User | None:
    """The user when the credentials are right and the account is not locked; else None."""
    settings = current_app.config["SETTINGS"]
    email = email.strip().lower()
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
    sessions.begin("staff", user_id=user.id)
    audit.record("user.login", "user", user.id, actor="user", user_id=user.id)
    return user


def staff_required(view):
    """Only a live staff session reaches the view (a patient session never does)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        record = sessions.current("staff")
        user = db.session.get(User, record.user_id) if record else None
        if user is None or not user.active:
            db.session.commit()
            return redirect(url_for("coordinator.login", next=request.path))
        g.user = user
        return view(*args, **kwargs)

    return wrapper
