"""The request's transaction, in one place: a view that returns commits once, a view that raises rolls back.

`install` wraps every view function of the app, so views never call commit() or rollback() themselves.
Services raise before they change anything they refuse, so a view may return an error page (a form with
its errors, a refused code) and what the request did write on purpose still commits (a failed attempt
counted, a session ended for idleness). Error handlers that must keep what the request wrote use
`committing` too.

Reads never block patients: a GET (or HEAD) request runs in a deferred read-only transaction (SQLite: a plain
BEGIN, so in WAL mode it reads a snapshot and never takes or waits for the write lock; PostgreSQL: with a
statement timeout for the page's queries). The rare GET that writes (a session ended for idleness) takes the
write lock at its first write; if SQLite refuses that upgrade because another request wrote meanwhile, the
view runs again in a write transaction. The session's last-seen refresh of a read is written after the
response, in its own short transaction (security/sessions.py).

The documented opt-outs: `commit_early()` in a route that must have its write stored before it goes on
(a patient's answer is acknowledged only once committed), and streamed exports, whose generator runs its
own read-only transaction after the view has returned (exports/service.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from flask import Flask, g, has_request_context, request
from sqlalchemy.exc import OperationalError

from .database import READ_ONLY
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


#: Requests that only read: their transaction is deferred and read-only.
READ_METHODS = frozenset({"GET", "HEAD"})
#: PostgreSQL: the longest a page's query may run before it is cancelled (the page then shows the 503 page).
PAGE_STATEMENT_TIMEOUT_MS = 5000


def after_read(write: Callable[[], None]) -> None:
    """Run `write` (its own short transaction) once this read request's view has returned and its read
    transaction has ended; outside a read request, at once."""
    if has_request_context() and g.get("read_request"):
        g.setdefault("after_read", []).append(write)
    else:
        write()


def _run_after_read() -> None:
    for write in g.pop("after_read", []):
        write()


def is_read_request() -> bool:
    return has_request_context() and request.method in READ_METHODS


def _begin(read_only: bool) -> None:
    """Open the request's transaction: deferred and read-only for a read, and bounded in time on PostgreSQL."""
    connection = db.session.connection(execution_options={READ_ONLY: read_only})
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {PAGE_STATEMENT_TIMEOUT_MS}")


def _lost_the_upgrade(error: OperationalError) -> bool:
    """SQLite refused to turn this read into a write (another connection wrote since it began)."""
    return db.session.get_bind().dialect.name == "sqlite" and "locked" in str(error.orig).lower()


def committing(function: Callable) -> Callable:
    """Commit when `function` returns, roll back when it raises (the exception goes on). A read request
    begins its transaction deferred and read-only (see the module docstring)."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        read = is_read_request() and not db.session().in_transaction()
        if read:
            g.read_request = True
            try:
                _begin(read_only=True)
                result = function(*args, **kwargs)
                db.session.commit()
                _run_after_read()
                return result
            except OperationalError as error:
                rollback_quietly()
                if not _lost_the_upgrade(error):
                    raise
                log.info("a read request wrote; running it again in a write transaction")
            except BaseException:
                rollback_quietly()
                raise
            g.read_request = False
            g.pop("after_read", None)
            _begin(read_only=False)
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
