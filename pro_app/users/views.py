"""Routes: staff accounts (list, create, change role and grants, disable, reset a password); admins only."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..access import ADMINS
from ..extensions import db
from ..models import User
from ..security import code_limit
from ..vocabulary import ROLE_LABELS
from ..web import navigation
from ..web.guards import back_on_expired_token, keeps_input, roles_required
from . import services
from .forms import ResetForm, UserEditForm, UserNewForm

bp = Blueprint("users", __name__, url_prefix="/staff")
navigation.register("users.index", _l("Users"), roles=ADMINS, order=80)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/admin/users")
@roles_required(ADMINS)
def index():
    listed = db.session.scalars(select(User).order_by(User.email)).all()
    rows = [(user, services.grant_labels(user)) for user in listed]
    return render_template("users/list.html", rows=rows, role_labels=ROLE_LABELS, attacked=services.under_attack(),
                           attack_hours=services.ATTACK_HOURS, format_datetime=format_datetime,
                           codes=code_limit.state(), alert_days=code_limit.ALERT_DAYS)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@keeps_input
@roles_required(ADMINS)
def new():
    form = UserNewForm()
    if request.method == "GET":
        return render_template("users/new.html", form=form)
    if form.validate():
        password = form.password.data or services.generate_password()
        try:
            user = services.create_user(form.email.data, form.role.data, password, form.study_codes(), by=g.user.id)
        except services.UserError as exc:  # a race with another admin; the form checks the rest first
            form.email.errors = [str(exc)]
        else:
            if form.password.data:
                return redirect(url_for(".edit", user_id=user.id))
            return render_template("users/password.html", user=user, password=password, created=True)
    return render_template("users/new.html", form=form), 400


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@keeps_input
@roles_required(ADMINS)
def edit(user_id: int):
    user = _user_or_404(user_id)
    if request.method == "GET":
        form = UserEditForm(data={"role": user.role, "active": user.active, "grants": services.current_grants(user)})
        return render_template("users/edit.html", user=user, form=form, reset=ResetForm(formdata=None),
                               is_self=user.id == g.user.id)
    form = UserEditForm()
    if form.validate():
        problem = services.lockout_problem(g.user, user, form.role.data, form.active.data)
        if problem is None:
            services.update_user(g.user, user, role=form.role.data, active=form.active.data,
                                 grants=form.grants.data or [], reason=form.reason.data or None)
            return redirect(url_for(".index"))
        field, message = problem
        form[field].errors = [message]
    return render_template("users/edit.html", user=user, form=form, reset=ResetForm(formdata=None),
                           is_self=user.id == g.user.id), 400


@bp.post("/admin/users/<int:user_id>/reset-password")
@back_on_expired_token(lambda user_id: url_for(".edit", user_id=user_id))
@roles_required(ADMINS)
def reset_password(user_id: int):
    user = _user_or_404(user_id)
    form = ResetForm(user_email=user.email)
    if form.validate():
        chosen = form.password.data or None
        try:
            password = services.reset_password(g.user, user, form.reason.data or None, password=chosen)
        except services.UserError as exc:  # the form checks the same policy first; kept for safety
            form.password.errors = [str(exc)]
        else:
            return render_template("users/password.html", user=user, password=None if chosen else password,
                                   created=False)
    edit_form = UserEditForm(formdata=None, data={"role": user.role, "active": user.active,
                                                   "grants": services.current_grants(user)})
    return render_template("users/edit.html", user=user, form=edit_form, reset=form,
                           is_self=user.id == g.user.id), 400
