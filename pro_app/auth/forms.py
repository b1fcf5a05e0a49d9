"""Staff login, and a staff member changing their own password."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from ..security.passwords import MIN_LENGTH, password_problem


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(
        _l("New password"), validators=[InputRequired()],  # not DataRequired: twelve spaces get the policy's word
        description=_l("At least %(count)s characters and hard to guess: a phrase of a few uncommon words works "
                       "well.", count=MIN_LENGTH))
    confirm = PasswordField(_l("New password again"),
                            validators=[InputRequired(), EqualTo("new", message=_l("The two new passwords differ."))])

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def validate_new(self, field):
        problem = password_problem(field.data, email=self.email)
        if problem:
            raise ValidationError(problem)
        if field.data == self.current.data:
            raise ValidationError(_("The new password must differ from the current one."))
