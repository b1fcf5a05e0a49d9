"""Administration: staff accounts (create, edit role and grants, disable, reset a password) and the
read-only view of the audit trail. Every route is for the 'admin' role only; every change is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from functools import wraps

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .. import audit, users
from ..extensions import db
from ..models import ROLES, AuditEvent, AuthSession, Site, Study, StudyGrant, User
from ..security import sessions, throttle
from ..security.passwords import hash_password
from .auth import staff_required
from .blueprint import bp
from .navigation import register

register("coordinator.users", _l("Users"), roles=("admin",), order=80)
register("coordinator.audit", _l("Audit trail"), roles=("admin",), order=85)

PER_PAGE = 50

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "coordinator": _l("Coordinator"),
    "analyst": _l("Analyst"),
}


def admin_required(view):
    """A live staff session of an administrator; anyone else gets 403 (not a hint of what is here)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return staff_required(wrapper)


# --- forms ---------------------------------------------------------------------------------------------

def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role, str(ROLE_LABELS[role])) for role in ROLES]


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserNewForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    password = PasswordField(
        _l("Password"), validators=[Optional(), Length(max=200)],
        description=_l("At least %(count)s characters. Leave it empty to have one generated and shown once.",
                       count=users.MIN_PASSWORD))
    studies = CheckboxList(_l("Studies (all sites)"), coerce=int)

    def validate_email(self, field):
        email = (field.data or "").strip().lower()
        if "@" not in email:
            raise ValidationError(_("Enter an email address."))
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            raise ValidationError(_("A user with this email address already exists."))

    def validate_password(self, field):
        if field.data and len(field.data) < users.MIN_PASSWORD:
            raise ValidationError(_("The password must have at least %(count)s characters.",
                                    count=users.MIN_PASSWORD))


class UserEditForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    active = BooleanField(_l("Account active (may log in)"))
    grants = CheckboxList(_l("Access to studies and sites"))
    reason = StringField(_l("Reason for the change"), validators=[Optional(), Length(max=500)])


class ResetForm(FlaskForm):
    reason = StringField(_l("Reason for the reset"), validators=[Optional(), Length(max=500)])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    study = SelectField(_l("Study"), validators=[Optional()])
    user = SelectField(_l("Staff member"), validators=[Optional()])
    action = SelectField(_l("Action"), validators=[Optional()])
    start = DateField(_l("From (UTC)"), validators=[Optional()])
    end = DateField(_l("To (UTC)"), validators=[Optional()])


# --- grants --------------------------------------------------------------------------------------------

def _grant_value(study_id: int, site_id: int | None) -> str:
    return f"{study_id}" if site_id is None else f"{study_id}:{site_id}"


def _parse_grant(value: str) -> tuple[int, int | None]:
    study, _sep, site = value.partition(":")
    return int(study), (int(site) if site else None)


def _grant_choices() -> list[SelectChoice]:
    choices = []
    for study in db.session.scalars(select(Study).order_by(Study.code)):
        choices.append(SelectChoice(_grant_value(study.id, None),
                                    _("%(study)s: all sites", study=study.code)))
        for site in study.sites:
            choices.append(SelectChoice(_grant_value(study.id, site.id),
                                        _("%(study)s: site %(site)s only", study=study.code,
                                          site=f"{site.code} ({site.name})")))
    return choices


def _grant_labels(user: User) -> list[str]:
    """Readable grants ('NCT01', 'NCT01/BCN'), in a stable order (for the list and the audit trail)."""
    labels = []
    for grant in user.grants:
        study = db.session.get(Study, grant.study_id)
        site = db.session.get(Site, grant.site_id) if grant.site_id else None
        labels.append(study.code if site is None else f"{study.code}/{site.code}")
    return sorted(labels)


def _set_grants(user: User, values: list[str]) -> None:
    """Make the user's grants exactly these (no duplicates; a whole-study grant makes its site grants moot)."""
    wanted = {_parse_grant(v) for v in values}
    whole = {study for study, site in wanted if site is None}
    wanted = {(study, site) for study, site in wanted if site is None or study not in whole}
    for grant in list(user.grants):
        key = (grant.study_id, grant.site_id)
        if key in wanted:
            wanted.discard(key)
        else:
            user.grants.remove(grant)
    for study_id, site_id in sorted(wanted, key=lambda k: (k[0], k[1] or 0)):
        user.grants.append(StudyGrant(study_id=study_id, site_id=site_id))


def _end_staff_sessions(user_id: int, reason: str) -> None:
    """End every live staff session of the user at once (a patient session they handed over is not theirs)."""
    keep = sessions.current("staff", touch=False) if user_id == g.user.id else None
    for record in db.session.scalars(select(AuthSession).where(
            AuthSession.user_id == user_id, AuthSession.kind == "staff", AuthSession.ended_at.is_(None))):
        if keep is None or record.id != keep.id:
            sessions.end(record, reason)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


# --- users ---------------------------------------------------------------------------------------------

@bp.get("/admin/users", endpoint="users")
@admin_required
def users_list():
    listed = db.session.scalars(select(User).order_by(User.email)).all()
    rows = [(user, _grant_labels(user)) for user in listed]
    db.session.commit()
    return render_template("coordinator/admin/users.html", rows=rows, role_labels=ROLE_LABELS)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_required
def user_new():
    form = UserNewForm()
    form.role.choices = _role_choices()
    form.studies.choices = [SelectChoice(s.id, f"{s.code} · {s.title}")
                            for s in db.session.scalars(select(Study).order_by(Study.code))]
    if request.method == "POST":
        if form.validate():
            password = form.password.data or users.generate_password()
            codes = [s.code for s in db.session.scalars(
                select(Study).where(Study.id.in_(form.studies.data or [])).order_by(Study.code))]
            try:
                user = users.create_user(form.email.data, form.role.data, password, codes, by=g.user.id)
            except users.UserError as exc:  # a race with another admin; the form checks the rest first
                form.email.errors = [str(exc)]
            else:
                db.session.commit()
                if form.password.data:
                    return redirect(url_for(".user_edit", user_id=user.id))
                return render_template("coordinator/admin/password.html", user=user, password=password,
                                       created=True)
        db.session.rollback()
        return render_template("coordinator/admin/user_new.html", form=form), 400
    return render_template("coordinator/admin/user_new.html", form=form)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def user_edit(user_id: int):
    user = _user_or_404(user_id)
    current = {"role": user.role, "active": user.active,
               "grants": sorted(_grant_value(gr.study_id, gr.site_id) for gr in user.grants)}
    form = UserEditForm() if request.method == "POST" else UserEditForm(data=current)
    form.role.choices = _role_choices()
    form.grants.choices = _grant_choices()
    status = 200
    if request.method == "POST":
        if form.validate() and _may_change(user, form):
            old = {"role": user.role, "active": user.active, "grants": _grant_labels(user)}
            user.role = form.role.data
            user.active = form.active.data
            _set_grants(user, form.grants.data or [])
            db.session.flush()
            db.session.expire(user, ["grants"])
            new = {"role": user.role, "active": user.active, "grants": _grant_labels(user)}
            changed = [key for key in old if old[key] != new[key]]
            if changed:
                if old["active"] and not new["active"]:
                    action = "user.disable"
                    _end_staff_sessions(user.id, "revoked")
                elif new["active"] and not old["active"]:
                    action = "user.enable"
                else:
                    action = "user.update"
                audit.record(action, "user", user.id, actor="user", user_id=g.user.id,
                             old={k: old[k] for k in changed}, new={k: new[k] for k in changed},
                             reason=form.reason.data or None)
            db.session.commit()
            return redirect(url_for(".users"))
        status = 400
    reset = ResetForm(formdata=None)
    db.session.commit()
    return render_template("coordinator/admin/user_edit.html", user=user, form=form, reset=reset,
                           is_self=user.id == g.user.id), status


def _may_change(user: User, form: UserEditForm) -> bool:
    """An administrator cannot lock themselves out (disable their own account or drop their own role)."""
    if user.id != g.user.id:
        return True
    if not form.active.data:
        form.active.errors = [_("You cannot disable your own account.")]
        return False
    if form.role.data != "admin":
        form.role.errors = [_("You cannot remove your own administrator role.")]
        return False
    return True


@bp.post("/admin/users/<int:user_id>/reset-password")
@admin_required
def user_reset_password(user_id: int):
    user = _user_or_404(user_id)
    form = ResetForm()
    if not form.validate():
        abort(400)
    password = users.generate_password()
    user.password_hash = hash_password(password)
    _end_staff_sessions(user.id, "revoked")
    throttle.clear(f"login:{user.email}")  # a locked-out user is often why the password is reset
    audit.record("user.reset_password", "user", user.id, actor="user", user_id=g.user.id,
                 new={"password": "reset"}, reason=form.reason.data or None)
    db.session.commit()
    return render_template("coordinator/admin/password.html", user=user, password=password, created=False)


# --- audit trail ---------------------------------------------------------------------------------------

def _readable(value) -> str:
    if value is None:
        return ""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@bp.get("/admin/audit", endpoint="audit")
@admin_required
def audit_trail():
    form = AuditFilterForm(request.args)
    everyone = _("All")
    form.study.choices = [SelectChoice("", everyone)] + [
        SelectChoice(str(s.id), s.code) for s in db.session.scalars(select(Study).order_by(Study.code))]
    form.user.choices = [SelectChoice("", everyone)] + [
        SelectChoice(str(u.id), u.email) for u in db.session.scalars(select(User).order_by(User.email))]
    form.action.choices = [SelectChoice("", everyone)] + [
        SelectChoice(a, a) for a in db.session.scalars(
            select(AuditEvent.action).distinct().order_by(AuditEvent.action))]
    if request.args and not form.validate():
        db.session.commit()
        return render_template("coordinator/admin/audit.html", form=form, events=[], page=1, pages=1,
                               total=0, readable=_readable, args={}), 400
    query = select(AuditEvent)
    if form.study.data:
        query = query.where(AuditEvent.study_id == int(form.study.data))
    if form.user.data:
        query = query.where(AuditEvent.user_id == int(form.user.data))
    if form.action.data:
        query = query.where(AuditEvent.action == form.action.data)
    if form.start.data:
        query = query.where(AuditEvent.at >= datetime.combine(form.start.data, time.min, UTC))
    if form.end.data:
        query = query.where(AuditEvent.at < datetime.combine(form.end.data + timedelta(days=1), time.min, UTC))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    events = db.session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    emails = dict(db.session.execute(select(User.id, User.email)).all())
    codes = dict(db.session.execute(select(Study.id, Study.code)).all())
    rows = [(event, emails.get(event.user_id), codes.get(event.study_id)) for event in events]
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    db.session.commit()
    return render_template("coordinator/admin/audit.html", form=form, events=rows, page=page, pages=pages,
                           total=total, readable=_readable, args=args, format_datetime=format_datetime)
