"""A new API token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import Study
from .services import MAX_DAYS


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("For example: R on my laptop"))
    studies = SelectMultipleField(_l("Studies"), coerce=int, validators=[DataRequired()],
                                  widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    days = IntegerField(_l("Valid for (days)"), default=90, validators=[DataRequired(), NumberRange(1, MAX_DAYS)])

    def offer(self, studies: list[Study]) -> None:
        self.studies.choices = [SelectChoice(s.id, f"{s.code} · {s.title}") for s in studies]
