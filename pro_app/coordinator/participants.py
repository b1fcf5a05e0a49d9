"""Staff routes for participants: list per study (with a site filter), enrol, detail with the schedule,
change site / language / anchor date, withdraw. Every change goes through pro_app/studies.py (audited)."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from .. import access
from .. import studies as service
from ..assessments.schedule import site_today
from ..database import utcnow
from ..extensions import db
from ..i18n import LANGUAGE_NAMES, LANGUAGES
from ..models import Assessment, Participant, Site, Timepoint
from .auth import staff_required
from .blueprint import bp
from .forms import ActionForm
from .lookups import participant_or_404, study_or_404

STAFF_WHO_ENROL = ("admin", "coordinator")


class ParticipantForm(FlaskForm):
    study_code = StringField(
        _l("Participant study code"),
        validators=[DataRequired(), Length(max=64),
                    Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                           message=_l("Use letters, digits, dots, dashes and underscores only."))],
        description=_l("Pseudonymous: never a name or a medical record number."))
    site = SelectField(_l("Site"), coerce=int, validators=[DataRequired()])
    language = SelectField(_l("Preferred language"), validators=[DataRequired()])
    anchor_date = DateField(_l("Anchor date"), validators=[DataRequired()],
                            description=_l("The site-local date of the study's anchor event."))
    reason = StringField(_l("Reason"), validators=[Length(max=500)])


class ParticipantEditForm(ParticipantForm):
    study_code = None
    reason = StringField(_l("Reason for the change"), validators=[DataRequired(), Length(max=500)])


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason for withdrawal"), validators=[DataRequired(), Length(max=500)])


def _require_staff_who_enrol() -> None:
    if g.user.role not in STAFF_WHO_ENROL:
        abort(403)






def _assessments(participant: Participant) -> list[Assessment]:
    return db.session.scalars(select(Assessment).join(Timepoint).where(Assessment.participant_id == participant.id)
                              .order_by(Timepoint.position)).all()


def _prepare(form: ParticipantForm, sites: list[Site]) -> None:
    form.site.choices = [SelectChoice(s.id, f"{s.code} · {s.name}") for s in sites]
    form.language.choices = [SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


def _errors(form: FlaskForm) -> list[str]:
    return [_("%(field)s: %(problem)s", field=getattr(form, name).label.text, problem=problem)
            for name, problems in form.errors.items() for problem in problems]


@bp.get("/studies/<code>/participants")
@staff_required
def participants(code: str):
    study = study_or_404(code)
    _require_staff_who_enrol()
    sites = access.granted_sites(g.user, study)
    chosen = request.args.get("site", "")
    query = access.visible_participants(g.user).where(Participant.study_id == study.id)
    if chosen:
        site = next((s for s in sites if s.code == chosen), None)
        if site is None:
            abort(404)
        query = query.where(Participant.site_id == site.id)
    listed = db.session.scalars(query.order_by(Participant.study_code)).all()
    db.session.commit()
    return render_template("coordinator/participants/list.html", study=study, participants=listed, sites=sites,
                           chosen=chosen)


@bp.route("/studies/<code>/participants/new", methods=["GET", "POST"])
@staff_required
def participant_new(code: str):
    study = study_or_404(code)
    _require_staff_who_enrol()
    sites = access.granted_sites(g.user, study)
    form = ParticipantForm()
    _prepare(form, sites)
    errors, status = [], 200
    if request.method == "POST":
        if not form.validate():
            errors, status = _errors(form), 400
        else:
            site = next(s for s in sites if s.id == form.site.data)
            try:
                participant = service.enrol(study, site, form.study_code.data.strip(), form.language.data,
                                            form.anchor_date.data, g.user, (form.reason.data or "").strip() or None)
            except service.StudyError as exc:
                errors, status = exc.messages, 400
            else:
                db.session.commit()
                return redirect(url_for(".participant", participant_id=participant.id))
    elif len(sites) == 1:
        form.site.data = sites[0].id
    db.session.commit()
    return render_template("coordinator/participants/new.html", study=study, form=form, errors=errors), status


@bp.get("/participants/<int:participant_id>")
@staff_required
def participant(participant_id: int):
    participant = participant_or_404(participant_id)
    _require_staff_who_enrol()
    today = site_today(participant, utcnow())
    rows = [(a, a.effective_status(today)) for a in _assessments(participant)]
    db.session.commit()
    return render_template("coordinator/participants/detail.html", participant=participant, rows=rows,
                           today=today, form=ActionForm(), language_names=LANGUAGE_NAMES)


@bp.route("/participants/<int:participant_id>/edit", methods=["GET", "POST"])
@staff_required
def participant_edit(participant_id: int):
    participant = participant_or_404(participant_id)
    _require_staff_who_enrol()
    sites = access.granted_sites(g.user, participant.study)
    form = ParticipantEditForm(obj=participant if request.method == "GET" else None)
    _prepare(form, sites)
    if request.method == "GET":
        form.site.data = participant.site_id
    errors, status = [], 200
    if request.method == "POST":
        if not form.validate():
            errors, status = _errors(form), 400
        else:
            site = next(s for s in sites if s.id == form.site.data)
            service.change_participant(participant, site=site, language=form.language.data,
                                       anchor=form.anchor_date.data, user=g.user, reason=form.reason.data.strip())
            db.session.commit()
            return redirect(url_for(".participant", participant_id=participant.id))
    db.session.commit()
    return render_template("coordinator/participants/edit.html", participant=participant, form=form,
                           errors=errors), status


@bp.route("/participants/<int:participant_id>/withdraw", methods=["GET", "POST"])
@staff_required
def participant_withdraw(participant_id: int):
    participant = participant_or_404(participant_id)
    _require_staff_who_enrol()
    form = WithdrawForm()
    errors, status = [], 200
    if request.method == "POST":
        if not form.validate():
            errors, status = _errors(form), 400
        else:
            try:
                service.withdraw(participant, g.user, form.reason.data.strip())
            except service.StudyError as exc:
                errors, status = exc.messages, 409
            else:
                db.session.commit()
                return redirect(url_for(".participant", participant_id=participant.id))
    db.session.commit()
    return render_template("coordinator/participants/withdraw.html", participant=participant, form=form,
                           errors=errors), status
