"""The audit view's filter (a GET search form: it changes nothing, so it has no CSRF token)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from ..extensions import db
from ..models import Study, User
from ..web.forms import within_calendar
from . import services


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    study = SelectField(_l("Study"), validators=[Optional()])
    user = SelectField(_l("Staff member"), validators=[Optional()])
    action = SelectField(_l("Action"), validators=[Optional()])
    start = DateField(_l("From (UTC)"), validators=[Optional(), within_calendar])
    end = DateField(_l("To (UTC)"), validators=[Optional(), within_calendar])
    participant = StringField(_l("Participant code"), validators=[Optional(), Length(max=64)])
    site = SelectField(_l("Site"), validators=[Optional()])
    arm = SelectField(_l("Arm"), validators=[Optional()])

    def offer(self) -> None:
        everyone = _("All")
        self.study.choices = [SelectChoice("", everyone)] + [
            SelectChoice(str(s.id), s.code) for s in db.session.scalars(select(Study).order_by(Study.code))]
        self.user.choices = [SelectChoice("", everyone)] + [
            SelectChoice(str(u.id), u.email) for u in db.session.scalars(select(User).order_by(User.email))]
        self.action.choices = [SelectChoice("", everyone)] + [SelectChoice(a, a) for a in services.actions()]
        studies = db.session.scalars(select(Study).order_by(Study.code)).all()
        self.site.choices = [SelectChoice("", everyone)] + [
            SelectChoice(str(site.id), f"{study.code} · {site.code}") for study in studies for site in study.sites]
        self.arm.choices = [SelectChoice("", everyone)] + [
            SelectChoice(arm, arm) for arm in sorted({arm for study in studies for arm in study.arms or []})]

    def query(self) -> services.Query:
        return services.Query(study_id=int(self.study.data) if self.study.data else None,
                              user_id=int(self.user.data) if self.user.data else None,
                              action=self.action.data or None, start=self.start.data, end=self.end.data,
                              participant=(self.participant.data or "").strip() or None,
                              site_id=int(self.site.data) if self.site.data else None, arm=self.arm.data or None)
