"""The request's transaction, in one place: a view that returns commits once, a view that raises rolls back.

`install` wraps every view function of the app, so views never call commit() or rollback() themselves.
Services raise before they change anything they refuse, so a view may return an error page (a form with
its errors, a refused code) and what the request did write on purpose still commits (a failed attempt
counted, a session ended for idleness). Error handlers that must keep what the request wrote use
`committing` too.

The documented opt-outs: `commit_early()` in a route that must have its write stored before it goes on
(a patient's answer is acknowledged only once committed), and streamed exports, whose generator runs its
own read-only transaction after the view has returned (exports/service.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from flask import Flask

from .extensions import db

log = logging.getLogger(__name__)


def rollback_quietly() -> None:
    """Roll back after a failure; SQLite may already have rolled back by itself (disk full), and a
    second ROLLBACK then fails with 'no transaction is active'. Either way the session is reset."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - nothing more can be done; the session is discarded below
        log.warning("rollback after a database error failed", exc_info=True)
        db.session.remove()


def committing(function: Callable) -> Callable:
    """Commit when `function` returns, roll back when it raises (the exception goes on)."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        try:
            result = function(*args, **kwargs)
        except BaseException:
            rollback_quietly()
            raise
        db.session.commit()
        return result

    return wrapper


def commit_early() -> None:
    """Commit now, before the view returns (see the module docstring for where this is right)."""
    db.session.commit()


def install(app: Flask) -> None:
    """Wrap every view registered so far; call it after the blueprints are registered."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static":
            app.view_functions[endpoint] = committing(view)
