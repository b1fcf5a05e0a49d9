"""Small forms every staff feature uses, and the one way a form's errors become messages."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A button that needs only the CSRF token."""


def form_errors(form: FlaskForm) -> list[str]:
    """Every field error as a whole sentence naming its field ("Reason: This field is required.")."""
    return [_("%(field)s: %(problem)s", field=getattr(form, name).label.text, problem=problem)
            for name, problems in form.errors.items() for problem in problems]
