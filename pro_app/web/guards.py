"""Who reaches a staff view: a live staff session of an active user, and where a view says so, a role.

`roles_required(access.EDITORS)` answers 403 to another role before anything is looked up, so a refusal
says nothing about the object in the URL; objects the user may not see answer 404 (web/lookups.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps

from flask import abort, g, redirect, request, url_for

from ..extensions import db
from ..models import User
from ..security import sessions
from ..vocabulary import Role, SessionKind


def staff_required(view: Callable) -> Callable:
    """Only a live staff session reaches the view (a patient session never does); `g.user` is set."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        record = sessions.current(SessionKind.STAFF)
        user = db.session.get(User, record.user_id) if record else None
        if user is None or not user.active:
            return redirect(url_for("auth.login", next=request.path))
        g.user = user
        return view(*args, **kwargs)

    return wrapper


def roles_required(roles: Collection[Role]) -> Callable[[Callable], Callable]:
    """A staff view for these roles only (see access.py for the named sets); others get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return staff_required(wrapper)

    return decorator


def keeps_input(view: Callable) -> Callable:
    """A form page whose POST, when its CSRF token has expired or is missing, is shown again with what was typed
    and a message (errors.py), instead of a bare 400 that loses it. Only for views that validate their FlaskForm
    (which checks the token again, so nothing is saved) before they change anything."""
    view.keeps_input_on_expired_token = True
    return view


def back_on_expired_token(page: Callable[..., str]) -> Callable[[Callable], Callable]:
    """The small forms that sit on another page (a button, with a note or a reason: mark not done, correct an
    answer, acknowledge): when the CSRF token of their POST has expired or is missing, the user is sent back to
    the page they were on with a message, and the view never runs, so nothing is saved (errors.py). That page
    is the form's own `next` or `back` field when it names a staff page, else `page(**view_args)`."""

    def decorator(view: Callable) -> Callable:
        view.back_on_expired_token = page
        return view

    return decorator
