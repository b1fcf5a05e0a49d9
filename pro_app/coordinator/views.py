"""Staff routes (the part the kiosk needs: log in, see assessments, hand over the tablet, issue a code)."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectChoice

from .. import access, audit
from ..api import tokens
from ..assessments.schedule import site_today
from ..database import utcnow
from ..extensions import db
from ..kiosk import codes
from ..kiosk import services as kiosk
from ..models import Assessment, Timepoint
from ..security import sessions
from .auth import login as do_login
from .auth import staff_required
from .blueprint import bp
from .forms import ActionForm, LoginForm, TokenForm
from .lookups import assessment_or_404
from .navigation import register

register("coordinator.dashboard", _l("Assessments"), order=10)
register("coordinator.api_tokens", _l("API tokens"), roles=("analyst", "admin"), order=90)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "POST":
        if form.validate() and do_login(form.email.data, form.password.data):
            db.session.commit()
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/staff/") else url_for(".dashboard"))
        db.session.commit()
        return render_template("coordinator/login.html", form=form,
                               error=_l("Email or password not accepted, or the account is locked for now.")), 401
    return render_template("coordinator/login.html", form=form, error=None)


@bp.post("/logout")
def logout():
    if ActionForm().validate():
        sessions.end_current("logout")
        db.session.commit()
    return redirect(url_for(".login"))


@bp.get("/")
@staff_required
def dashboard():
    studies = db.session.scalars(access.visible_studies(g.user)).all()
    participants = db.session.scalars(access.visible_participants(g.user)).all()
    now = utcnow()
    rows = []
    for participant in sorted(participants, key=lambda p: (p.study.code, p.study_code)):
        today = site_today(participant, now)
        for assessment in participant_assessments(participant):
            rows.append((participant, assessment, assessment.effective_status(today)))
    db.session.commit()
    return render_template("coordinator/dashboard.html", studies=studies, rows=rows, form=ActionForm())


def participant_assessments(participant):
    return db.session.scalars(
        select(Assessment).join(Timepoint).where(Assessment.participant_id == participant.id)
        .order_by(Timepoint.position)
    ).all()


def _require_role(*roles: str) -> None:
    if g.user.role not in roles:
        abort(403)




def _startable(assessment_id: int):
    """The assessment a coordinator asked to start, checked: role, access, form token, window open."""
    _require_role("admin", "coordinator")
    assessment = assessment_or_404(assessment_id)
    if not ActionForm().validate():
        abort(400)
    if not kiosk.can_hand_over(assessment):
        abort(409)
    return assessment


@bp.post("/assessments/<int:assessment_id>/start-on-tablet")
@staff_required
def hand_over(assessment_id: int):
    assessment = _startable(assessment_id)
    kiosk.begin_patient(assessment, handed_over_by=g.user.id)
    session["lang"] = assessment.participant.language
    audit.record("assessment.hand_over", "assessment", assessment.id, actor="user", user_id=g.user.id,
                 study_id=assessment.participant.study_id)
    db.session.commit()
    return redirect(url_for("kiosk.current"))


@bp.post("/assessments/<int:assessment_id>/code")
@staff_required
def issue_code(assessment_id: int):
    assessment = _startable(assessment_id)
    code = codes.issue(assessment, g.user.id)
    audit.record("assessment.code", "assessment", assessment.id, actor="user", user_id=g.user.id,
                 study_id=assessment.participant.study_id)
    db.session.commit()
    return render_template("coordinator/code.html", code=code, assessment=assessment)


@bp.route("/tokens", methods=["GET", "POST"])
@staff_required
def api_tokens():
    _require_role(*tokens.ROLES_WITH_TOKENS)
    form = TokenForm()
    form.studies.choices = [SelectChoice(s.id, f"{s.code} · {s.title}")
                            for s in db.session.scalars(access.visible_studies(g.user))]
    created, status = None, 200
    if request.method == "POST":
        if form.validate():
            try:
                token, created = tokens.create(g.user, form.name.data, form.studies.data, form.days.data)
            except tokens.TokenError as exc:
                form.name.errors = [str(exc)]
                status = 400
            else:
                db.session.commit()
                form = TokenForm(formdata=None)
                form.studies.choices = []
                return render_template("coordinator/token_created.html", token=token, plain=created)
        else:
            status = 400
    listed = tokens.tokens_of(g.user)
    db.session.commit()
    return render_template("coordinator/tokens.html", form=form, tokens=listed, action=ActionForm(),
                           now=utcnow()), status


@bp.post("/tokens/<int:token_id>/revoke")
@staff_required
def revoke_token(token_id: int):
    _require_role(*tokens.ROLES_WITH_TOKENS)
    if not ActionForm().validate():
        abort(400)
    if tokens.revoke(g.user, token_id) is None:
        abort(404)
    db.session.commit()
    return redirect(url_for(".api_tokens"))
