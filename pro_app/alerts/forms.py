"""Acknowledging alerts: one alert, one visit's, or several visits' at once (the triage page's checkboxes)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from .services import ACTION_MAX, NOTE_MAX


class AcknowledgeForm(FlaskForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=NOTE_MAX)],
                         description=_l("For example: called the patient, seen in clinic today."))
    # Checked against the study's list of actions in the view (the list is the study's, not the form's).
    action = StringField(_l("Action taken"), validators=[Optional(), Length(max=ACTION_MAX)])
    next = HiddenField(validators=[Optional(), Length(max=2000)])


#: Visits acknowledged at once at most (a page of the triage holds fewer).
MAX_VISITS = 200


def visit_ids(raw: list[str]) -> list[int] | None:
    """The checked visits' ids (the `visit` checkboxes); None if one is not an id or there are too many."""
    if len(raw) > MAX_VISITS:
        return None
    try:
        ids = [int(v) for v in raw]
    except ValueError:
        return None
    return ids if all(0 < i < 2**31 for i in ids) else None
