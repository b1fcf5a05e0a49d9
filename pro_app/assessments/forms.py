"""Staff forms for one assessment: not done with a reason, a correction, and the paper form (built from the
instrument definitions: one field per item of the assessment's plan)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..i18n import LANGUAGE_NAMES, LANGUAGES
from ..instruments import Instrument
from ..models import Plan
from ..vocabulary import NOT_DONE_LABELS, NotDoneReason
from . import answers


class NotDoneForm(FlaskForm):
    """Not done: no reason is preselected, and the first post only asks for confirmation (`confirm`)."""

    reason = SelectField(_l("Reason"), validators=[DataRequired(_l("Please choose a reason."))],
                         choices=[SelectChoice("", _l("Choose a reason…"))]
                         + [SelectChoice(k, v) for k, v in NOT_DONE_LABELS.items()])
    note = TextAreaField(_l("Note"), validators=[Length(max=500)])
    confirm = HiddenField()

    def validate_note(self, field):
        if self.reason.data == NotDoneReason.OTHER and not (field.data or "").strip():
            raise ValidationError(_l("Please explain the reason in the note."))


class ReasonForm(FlaskForm):
    """A staff action that needs only its reason: reopen, close now, confirm an early assessment."""

    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Please give the reason.")), Length(max=500)])


class CorrectionForm(FlaskForm):
    choice = SelectField(_l("New answer"), validators=[DataRequired()], validate_choice=True)
    reason = StringField(_l("Reason for the correction"), validators=[DataRequired(), Length(max=500)])


#: The correction choices that set an answer back to blank (assessments/services.py NOT_ANSWERED).
NOT_ANSWERED_CHOICES = [
    SelectChoice("not_answered:declined", _l("Not answered: the patient declined it")),
    SelectChoice("not_answered:not_reached", _l("Not answered: not reached")),
    SelectChoice("not_answered:entered_in_error", _l("Not answered: the answer was entered in error")),
]


def correction_choices(instrument: Instrument, item_id: str, lang: str) -> list[SelectChoice]:
    return item_choices(instrument, item_id, lang) + NOT_ANSWERED_CHOICES


def current_choice(instrument: Instrument, row) -> str | None:
    """The choice key of a stored answer (what the correction form starts on); None when not answered."""
    if row is None:
        return None
    if row.option_code:
        return row.option_code
    for c in instrument.item(row.item_id).choices("en"):
        if row.state == "answered" and c.value is not None and c.value == row.value:
            return c.key
    return None


def item_choices(instrument: Instrument, item_id: str, lang: str, blank=None) -> list[SelectChoice]:
    """The item's choices (its type's, instruments/item_types.py) as select choices: "2 · A little" for a
    labelled option, the label alone where it already is the number ("0 (No pain)") or an extra option."""
    item = instrument.item(item_id)
    choices = [SelectChoice("", blank)] if blank is not None else []
    for c in item.choices(lang):
        numbered = c.value is not None and item.type.layout == "list"
        choices.append(SelectChoice(c.key, f"{c.value} · {c.label}" if numbered else c.label))
    return choices


def paper_form(plan: Plan, lang: str, **kwargs) -> FlaskForm:
    """A form with one select per item of the plan (field name = item id) and the paper's language."""
    blank = _l("(blank: not answered)")
    fields = {"language": SelectField(_l("Language of the paper form"),
                                      choices=[SelectChoice(c, LANGUAGE_NAMES[c]) for c in LANGUAGES])}
    for part in plan:
        instrument = answers.instrument_of(part)
        for item_id in part.items:
            item = instrument.item(item_id)
            fields[item_id] = SelectField(f"{item.number}. {item.text.get(lang)}",
                                          choices=item_choices(instrument, item_id, lang, blank=blank),
                                          validators=[Optional()], validate_choice=False)
    return type("PaperForm", (FlaskForm,), fields)(**kwargs)
