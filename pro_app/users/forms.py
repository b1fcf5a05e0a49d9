"""Staff account forms: a new user, a user's role / grants / whether they may log in, a password reset."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..extensions import db
from ..models import ROLES, Study
from ..security.passwords import MIN_LENGTH, password_problem
from ..vocabulary import ROLE_LABELS
from . import services


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role, str(ROLE_LABELS[role])) for role in ROLES]


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserNewForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    password = PasswordField(
        _l("Password"), validators=[Optional()],
        description=_l("At least %(count)s characters and hard to guess: a phrase of a few uncommon words works "
                       "well. Leave it empty to have one generated and shown once.", count=MIN_LENGTH))
    studies = CheckboxList(_l("Studies (all sites)"), coerce=int)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()
        self.studies.choices = [SelectChoice(s.id, f"{s.code} · {s.title}")
                                for s in db.session.scalars(select(Study).order_by(Study.code))]

    def validate_email(self, field):
        email = (field.data or "").strip().lower()
        if "@" not in email:
            raise ValidationError(_("Enter an email address."))
        if services.email_taken(email):
            raise ValidationError(_("A user with this email address already exists."))

    def validate_password(self, field):
        problem = password_problem(field.data, email=self.email.data) if field.data else None
        if problem:
            raise ValidationError(problem)

    def study_codes(self) -> list[str]:
        return [s.code for s in db.session.scalars(
            select(Study).where(Study.id.in_(self.studies.data or [])).order_by(Study.code))]


class UserEditForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    active = BooleanField(_l("Account active (may log in)"))
    grants = CheckboxList(_l("Access to studies and sites"))
    reason = StringField(_l("Reason for the change"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _role_choices()
        choices = []
        for value, study, site, manager in services.grant_options():
            if manager:
                label = _("%(study)s: all sites, and manages the study (edits its setup, may create studies)",
                          study=study.code)
            elif site is None:
                label = _("%(study)s: all sites", study=study.code)
            else:
                label = _("%(study)s: site %(site)s only", study=study.code, site=f"{site.code} ({site.name})")
            choices.append(SelectChoice(value, label))
        self.grants.choices = choices


class ResetForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[Optional()],
        description=_l("Leave it empty to have one generated and shown once. A password you choose must have at "
                       "least %(count)s characters and be hard to guess.", count=MIN_LENGTH))
    reason = StringField(_l("Reason for the reset"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, user_email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user_email = user_email

    def validate_password(self, field):
        problem = password_problem(field.data, email=self.user_email) if field.data else None
        if problem:
            raise ValidationError(problem)
