"""Participant forms: enrol, change, withdraw."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ..i18n import LANGUAGE_NAMES, LANGUAGES
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
