"""Staff forms for one assessment: not done with a reason, a correction, and the paper form (built from the
instrument definitions: one field per item of the assessment's plan)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..i18n import LANGUAGE_NAMES, LANGUAGES
from ..instruments import Instrument
from ..models import Plan
from ..vocabulary import NOT_DONE_LABELS, Mode, NotDoneReason
from . import answers
from .paper import item_label


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


#: The paper form's own fields (the rest are its items, named by item id).
PAPER_HEADER = ("completed_on", "mode", "administered_by", "language", "confirm_outside")

PAPER_MODE_CHOICES = [SelectChoice(Mode.PAPER, _l("Paper: the patient filled it in")),
                      SelectChoice(Mode.ASSISTED, _l("Assisted: staff read the items aloud and marked the answers"))]


def paper_form(plan: Plan, lang: str, **kwargs) -> FlaskForm:
    """The paper form: its date, mode, who administered it and its language, then one field per item of the
    plan (field name = item id; the page shows each as a row of radio buttons)."""
    blank = _l("(blank: not answered)")
    fields = {
        "completed_on": DateField(_l("Date completed on the paper"),
                                  validators=[InputRequired(_l("Please give the date written on the paper."))]),
        "mode": RadioField(_l("How it was given"), choices=PAPER_MODE_CHOICES, default=Mode.PAPER,
                           validators=[InputRequired()]),
        "administered_by": StringField(_l("Administered by"),
                                       validators=[InputRequired(_l("Please say who gave the patient the form.")),
                                                   Length(max=120)],
                                       description=_l("Name or initials of the staff member who gave the form "
                                                      "or read it aloud.")),
        "language": SelectField(_l("Language of the paper form"),
                                choices=[SelectChoice(c, LANGUAGE_NAMES[c]) for c in LANGUAGES]),
        "confirm_outside": BooleanField(_l("The date is outside the window: save it with this date anyway")),
    }
    for part in plan:
        instrument = answers.instrument_of(part)
        for item_id in part.items:
            item = instrument.item(item_id)
            fields[item_id] = SelectField(f"{item_label(instrument, item)}. {item_heading(instrument, item, lang)}",
                                          choices=item_choices(instrument, item_id, lang, blank=blank),
                                          validators=[Optional()], validate_choice=False)
    return type("PaperForm", (FlaskForm,), fields)(**kwargs)


#: How the paper form names a PRO-CTCAE item's attribute (its a/b/c question of the term).
ATTRIBUTE_LABELS = {"frequency": _l("frequency"), "severity": _l("severity"), "interference": _l("interference"),
                    "amount": _l("amount"), "presence": _l("presence")}


def item_heading(instrument: Instrument, item, lang: str) -> str:
    """A PRO-CTCAE item by its term and attribute ("Nausea: frequency"); any other item by its text."""
    if item.term is not None:
        term = next((t for t in instrument.terms if t.number == item.term), None)
        name = term.name.get(lang) if term is not None else str(item.term)
        return f"{name}: {ATTRIBUTE_LABELS.get(item.attribute, item.attribute)}"
    return item.text.get(lang)


def _option_keys(item, lang: str) -> list[tuple[str, str, str]]:
    """(choice key, the key typed for it, label) of each choice: its number as printed on the paper, or for an
    extra option ("Not applicable") a letter of its code not yet taken."""
    out, taken = [], set()
    for c in item.choices(lang):
        if c.value is not None:
            typed = str(c.value)
        else:
            words = c.key.split("_")
            candidates = [w[0] for w in words if w] + list(c.key.replace("_", ""))
            typed = next((ch for ch in candidates if ch not in taken), c.key[0])
        taken.add(typed)
        out.append((c.key, typed, c.label))
    return out


def paper_rows(plan: Plan, lang: str) -> list[dict]:
    """Per instrument of the plan, the rows of the paper form: each item's number as printed ("12", "17b"),
    its heading, its question, its choices with the key that picks each, the branching rules that skip it and
    its gate (the page greys out a skipped or not applicable row as soon as the answer that decides it is keyed,
    and the keyboard passes over it)."""
    sections = []
    for part in plan:
        instrument = answers.instrument_of(part)
        rows = []
        for item_id in part.items:
            item = instrument.item(item_id)
            rows.append({"id": item_id, "label": item_label(instrument, item),
                         "heading": item_heading(instrument, item, lang),
                         "text": item.text.get(lang) if item.term is not None else "",
                         "choices": _option_keys(item, lang),
                         "skip_if": [[c.item, list(c.values)] for c in item.skip_if if c.item in part.items],
                         "gate": item.gate.instruction.get(lang) if item.gate else "",
                         "gate_if": [item.gate.item, list(item.gate.not_applicable_if)]
                         if item.gate and item.gate.item in part.items else None,
                         "gate_label": item_label(instrument, instrument.item(item.gate.item)) if item.gate else ""})
        sections.append({"instrument": instrument, "rows": rows})
    return sections


class ResolveForm(FlaskForm):
    """The resolution of double-entry discrepancies: its fields (decide-<field>, why-<field>) are built from the
    discrepancies, so the form itself carries only the CSRF token."""


HEADER_LABELS = {"completed_on": _l("Date completed on the paper"), "mode": _l("How it was given"),
                 "administered_by": _l("Administered by"), "language": _l("Language of the paper form")}


def _header_shown(field: str, value: str) -> str:
    if field == "mode":
        return str(dict((c.value, c.label) for c in PAPER_MODE_CHOICES).get(value, value))
    if field == "language":
        return str(LANGUAGE_NAMES.get(value, value))
    return value


def resolution_rows(assessment, found, lang: str) -> list[dict]:
    """One row per discrepancy: its label, what each keying has, and the choices to decide between (for an
    item every option of it and blank; for the form's own fields the two values keyed)."""
    items = {}
    for part in answers.plan_of(assessment):
        instrument = answers.instrument_of(part)
        for item_id in part.items:
            items[item_id] = instrument
    blank = str(_l("(blank: not answered)"))
    rows = []
    for d in found:
        if d.field in HEADER_LABELS:
            choices = [(d.first, _header_shown(d.field, d.first)), (d.second, _header_shown(d.field, d.second))]
            rows.append({"field": d.field, "label": str(HEADER_LABELS[d.field]), "choices": choices,
                         "first": choices[0][1], "second": choices[1][1]})
            continue
        instrument = items[d.field]
        item = instrument.item(d.field)
        shown = {key: f"{typed} · {label}" for key, typed, label in _option_keys(item, lang)}
        rows.append({"field": d.field,
                     "label": f"{item_label(instrument, item)}. {item_heading(instrument, item, lang)}",
                     "choices": [*shown.items(), ("", blank)],
                     "first": shown.get(d.first, blank), "second": shown.get(d.second, blank)})
    return rows
