"""Participant forms: enrol, change, withdraw."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ..extensions import library
from ..i18n import LANGUAGE_NAMES, LANGUAGES, current_language
from ..models import Site
from ..web.forms import within_calendar


class ParticipantForm(FlaskForm):
    study_code = StringField(
        _l("Participant study code"),
        validators=[DataRequired(), Length(max=64),
                    Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                           message=_l("Use letters, digits, dots, dashes and underscores only."))],
        description=_l("Pseudonymous: never a name or a medical record number."))
    site = SelectField(_l("Site"), coerce=int, validators=[DataRequired()])
    language = SelectField(_l("Preferred language"), validators=[DataRequired()])
    anchor_date = DateField(_l("Anchor date"), validators=[DataRequired(), within_calendar],
                            description=_l("The site-local date of the study's anchor event."))
    reason = StringField(_l("Reason"), validators=[Length(max=500)])

    def offer(self, sites: list[Site]) -> None:
        """The sites this user may enrol at, and the interface languages."""
        self.site.choices = [SelectChoice(s.id, f"{s.code} · {s.name}") for s in sites]
        self.language.choices = [SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


class ParticipantEditForm(ParticipantForm):
    study_code = None
    anchor_date = DateField(_l("Start of treatment"), validators=[DataRequired(), within_calendar],
                            description=_l("The site-local date of the study's anchor event."))
    treatment_end = DateField(_l("End of treatment"), validators=[Optional(), within_calendar],
                              description=_l("Enter it when known: timepoints counted from the end of treatment "
                                             "are scheduled then."))
    enrolled_on = DateField(_l("Date of enrolment"), validators=[Optional(), within_calendar])
    reason = StringField(_l("Reason for the change"), validators=[DataRequired(), Length(max=500)])


class WithdrawForm(FlaskForm):
    withdrawn_on = DateField(_l("Date of withdrawal"), validators=[Optional(), within_calendar],
                             description=_l("Today at the site when left empty."))
    follow_up_continues = BooleanField(_l("Questionnaires continue after withdrawal (follow-up)"))
    reason = TextAreaField(_l("Reason for withdrawal"), validators=[DataRequired(), Length(max=500)])


class SubjectForm(FlaskForm):
    """Subject data entered when known: consent, arm or cohort, death; and a withdrawal's details."""

    consent_date = DateField(_l("Date of informed consent"), validators=[Optional(), within_calendar])
    arm = SelectField(_l("Arm or cohort"), validators=[Optional()])
    death_date = DateField(_l("Date of death"), validators=[Optional(), within_calendar])
    withdrawn_on = DateField(_l("Date of withdrawal"), validators=[Optional(), within_calendar])
    withdrawn_reason = StringField(_l("Reason for withdrawal"), validators=[Length(max=500)])
    follow_up_continues = BooleanField(_l("Questionnaires continue after withdrawal (follow-up)"))
    reason = StringField(_l("Reason for the change"), validators=[DataRequired(), Length(max=500)])

    def offer(self, arms: list[str]) -> None:
        self.arm.choices = [SelectChoice("", _("Not assigned"))] + [SelectChoice(a, a) for a in arms]


def _ticks(label) -> SelectMultipleField:
    return SelectMultipleField(label, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                               validate_choice=False)


class UnscheduledForm(FlaskForm):
    """An unscheduled assessment: its date, the instruments asked, for each instrument with terms the terms
    (`unscheduled_form()` adds `terms__<instrument>`), and the reason. The service checks every value."""

    on = DateField(_l("Date of the assessment"), validators=[DataRequired(), within_calendar],
                   description=_l("The site-local day it opens on the tablet or is given on paper."))
    instruments = _ticks(_l("Instruments asked"))
    reason = TextAreaField(_l("Reason for the unscheduled assessment"), validators=[DataRequired(), Length(max=500)],
                           description=_l("For example an unplanned visit for new symptoms."))

    def term_fields(self) -> list:
        return [(i, self[f"terms__{i.id}"]) for i in library.selectable() if f"terms__{i.id}" in self]

    def chosen_terms(self) -> dict[str, list[int]]:
        return {i.id: [int(n) for n in field.data or [] if str(n).isdigit()] for i, field in self.term_fields()}


def unscheduled_form(instruments: list[str], selections: dict[str, tuple[int, ...]], **kwargs) -> UnscheduledForm:
    """The form offering the study's instruments, and every term of an instrument with terms (the study's
    selection ticked to start from)."""
    lang = current_language()
    fields = {}
    for instrument in library.selectable():
        if instrument.id in instruments:
            fields[f"terms__{instrument.id}"] = _ticks(_l("Terms asked: %(instrument)s",
                                                          instrument=instrument.title.get(lang)))
    form = type("UnscheduledForm", (UnscheduledForm,), fields)(**kwargs)
    form.instruments.choices = [SelectChoice(i, library.get(i).title.get(lang)) for i in instruments]
    for instrument, field in form.term_fields():
        field.choices = [SelectChoice(str(t.number), f"{t.number}. {t.name.get(lang)}")
                         for t in instrument.selection_choices()]
        if field.data is None or not kwargs.get("formdata", True):
            field.data = [str(n) for n in selections.get(instrument.id, ())]
    return form
