"""Acknowledging an alert."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from .services import NOTE_MAX


class AcknowledgeForm(FlaskForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=NOTE_MAX)],
                         description=_l("For example: called the patient, seen in clinic today."))
