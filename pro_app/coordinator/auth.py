"""Staff login and logout: Argon2id, throttling per account in the database, server-side sessions."""

from __future__ import annotations

from functools import wraps

from flask import g, redirect, request, url_for

from .. import audit
from ..extensions import db
from ..models import User
from ..security import sessions
from ..security.accounts import authenticate


def login(email: str, password: str) -> User | None:
    """Start a staff session when the credentials are right and the account is not locked."""
    user = authenticate(email, password)
    if user is None:
        return None
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
