"""Routes: /staff/login, /staff/logout, and handing an assessment over to the tablet."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l

from ..access import EDITORS
from ..vocabulary import Mode
from ..web import navigation
from ..web.forms import ActionForm
from ..web.guards import back_on_expired_token, keeps_input, roles_required, staff_required
from ..web.lookups import assessment_or_404
from . import services
from .forms import ChangePasswordForm, LoginForm

bp = Blueprint("auth", __name__, url_prefix="/staff")
#: One answer for every failed login, whatever failed (no hint of which accounts exist).
REFUSED = _l("Email or password not accepted. If they were right, wait a minute and try again.")
CURRENT_REFUSED = _l("Current password not accepted. If it was right, wait a minute and try again.")


@bp.route("/login", methods=["GET", "POST"])
@back_on_expired_token(lambda: url_for(".login", next=services.safe_next(request.args.get("next"))))
def login():
    form = LoginForm()
    if request.method == "POST":
        if form.validate() and services.login(form.email.data, form.password.data):
            return redirect(services.safe_next(request.args.get("next")) or url_for("worklist.today"))
        return render_template("auth/login.html", form=form, error=REFUSED), 401
    return render_template("auth/login.html", form=form, error=None)


@bp.post("/logout")
@back_on_expired_token(lambda: url_for("worklist.today"))
def logout():
    if ActionForm().validate():
        services.logout()
    return redirect(url_for(".login"))


@bp.route("/password", methods=["GET", "POST"])
@keeps_input
@staff_required
def change_password():
    """Any staff member changes their own password: the current one first, the new one by the policy."""
    form = ChangePasswordForm(email=g.user.email)
    if request.method == "GET":
        return render_template("auth/password.html", form=form, changed=False)
    if form.validate():
        if services.change_password(g.user, form.current.data, form.new.data):
            return render_template("auth/password.html", form=ChangePasswordForm(formdata=None, email=g.user.email),
                                   changed=True)
        form.current.errors = [str(CURRENT_REFUSED)]
    return render_template("auth/password.html", form=form, changed=False), 400


def _startable(assessment_id: int):
    assessment = assessment_or_404(assessment_id)
    if not ActionForm().validate():
        abort(400)
    return assessment


def _worklist(**_) -> str:
    """Where the start buttons without their `back` field go back to."""
    return url_for("worklist.today")


@bp.post("/assessments/<int:assessment_id>/start-on-tablet")
@back_on_expired_token(_worklist)
@roles_required(EDITORS)
def hand_over(assessment_id: int):
    assessment = _startable(assessment_id)
    mode = request.form.get("mode", Mode.SELF)
    if mode not in (Mode.SELF, Mode.ASSISTED):
        abort(400)
    try:
        session["lang"] = services.hand_over(g.user, assessment, mode)
    except services.NotStartable:
        abort(409)
    return redirect(url_for("kiosk.current"))


@bp.post("/assessments/<int:assessment_id>/code")
@back_on_expired_token(_worklist)
@roles_required(EDITORS)
def issue_code(assessment_id: int):
    assessment = _startable(assessment_id)
    try:
        code = services.issue_code(g.user, assessment)
    except services.NotStartable:
        abort(409)
    back = navigation.return_to(request.form.get("back")) or url_for(
        "participants.detail", participant_id=assessment.participant_id)
    return render_template("auth/code.html", code=code, assessment=assessment, back=back)
