"""Small forms every staff feature uses, and the one way a form's errors become messages."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

#: Dates any form or filter takes: a schedule counted from them, or a day added to them, stays inside the
#: calendar (year 1 and 9999 were 500s).
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2099, 12, 31)


class ActionForm(FlaskForm):
    """A button that needs only the CSRF token."""


def form_errors(form: FlaskForm) -> list[str]:
    """Every field error as a whole sentence naming its field ("Reason: This field is required.")."""
    return [_("%(field)s: %(problem)s", field=getattr(form, name).label.text, problem=problem)
            for name, problems in form.errors.items() for problem in problems]


def in_calendar(day: date) -> bool:
    return EARLIEST_DATE <= day <= LATEST_DATE


def calendar_message() -> str:
    return _("Give a date between %(first)s and %(last)s.", first=EARLIEST_DATE.isoformat(),
             last=LATEST_DATE.isoformat())


def within_calendar(form, field) -> None:
    """A date field's value within EARLIEST_DATE..LATEST_DATE (an empty optional field passes)."""
    if field.data is not None and not in_calendar(field.data):
        raise ValidationError(calendar_message())
