"""Clear error pages: 4xx for bad input, never a stack trace; a calm page when the database fails."""

from __future__ import annotations

import logging

from flask import Flask, current_app, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .api import problems
from .extensions import db
from .transactions import rollback_quietly
from .web import navigation

#: The flash category of the message shown on the page a small form was sent back to (base.html).
EXPIRED = "expired"


def back_after_expired_token(target: str):
    """Back to `target` (a page of this app), which says the page had expired and nothing was saved."""
    flash(_("Your page had expired; nothing was saved. Please try again."), EXPIRED)
    return redirect(target, 303)

log = logging.getLogger(__name__)


def _rollback_quietly() -> None:
    """Nothing of a failed request is kept, and the next one starts with a fresh database session."""
    rollback_quietly()
    db.session.remove()


def install(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        _rollback_quietly()
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, "keeps_input_on_expired_token", False):
            # The form again, filled with what was sent: the view's own form check refuses the token too, so
            # nothing is saved, and the page carries a fresh token and says what happened (staff/base.html).
            g.csrf_refused = True
            try:
                return view(**(request.view_args or {}))
            except HTTPException as refused:  # not found, not allowed…: answered as anywhere else, not a 500
                return _http(refused)
        back = getattr(view, "back_on_expired_token", None)
        if back is not None:
            sent_from = navigation.return_to(request.form.get("next") or request.form.get("back"))
            return back_after_expired_token(sent_from or back(**(request.view_args or {})))
        message = _("This page had been open too long. Please go back and try again.")
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        _rollback_quietly()
        if problems.for_api():
            return problems.problem(error.code or 500, error.description or error.name)
        messages = {
            400: _("The request could not be understood."),
            403: _("You do not have access to this page."),
            404: _("This page does not exist."),
            405: _("This action is not allowed here."),
            413: _("What was sent is too large."),
            429: _("Too many attempts. Please wait and try again, or ask a member of staff."),
        }
        message = messages.get(error.code or 500, _("Something went wrong."))
        return render_template("errors/error.html", code=error.code, message=message), error.code

    @app.errorhandler(OperationalError)
    def _database(error: OperationalError):
        log.error("database error", exc_info=error)
        _rollback_quietly()
        if problems.for_api():
            return problems.problem(503, "the database is not available; try again later")
        message = _("The system cannot save right now. Nothing you saw confirmed has been lost. "
                    "Please tell a member of staff.")
        return render_template("errors/error.html", code=503, message=message), 503
