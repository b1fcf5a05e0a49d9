"""Staff accounts: create one (the command line and the admin pages), change role, grants and whether it may
log in, reset a password. Every change is audited; disabling or resetting ends the user's sessions at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from .. import audit
from ..clock import utcnow
from ..extensions import db
from ..models import ROLES, AuditEvent, AuthSession, Site, Study, StudyGrant, User
from ..security import sessions, throttle
from ..security.accounts import account_key, account_state
from ..security.passwords import WeakPassword, check_password, hash_password, password_problem
from ..tokens import services as tokens
from ..vocabulary import Actor, Role, SessionKind


class UserError(ValueError):
    pass


def generate_password() -> str:
    """16 random characters (96 bits), drawn again in the unlikely case the policy would refuse them."""
    while True:
        password = secrets.token_urlsafe(12)
        if password_problem(password) is None:
            return password


def create_user(email: str, role: str, password: str, study_codes=(), *, by: int | None = None) -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise UserError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    try:
        check_password(password, email=email)
    except WeakPassword as exc:
        raise UserError(str(exc)) from exc
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(f"a user {email} already exists")
    user = User(email=email, role=role, password_hash=hash_password(password))
    for code in dict.fromkeys(study_codes):  # once each, in the order given
        study = db.session.scalar(select(Study).where(Study.code == code))
        if study is None:
            raise UserError(f"no study {code!r}")
        user.grants.append(StudyGrant(study_id=study.id))
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, actor=Actor.USER if by else Actor.SYSTEM, user_id=by,
                 new={"email": email, "role": role, "studies": list(study_codes)})
    return user


def email_taken(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email == email.strip().lower())) is not None


# --- grants: "study id" (every site), "study id:m" (every site, study manager) or "study id:site id" ----------

MANAGER = "m"


def grant_value(study_id: int, site_id: int | None, manager: bool = False) -> str:
    if site_id is not None:
        return f"{study_id}:{site_id}"
    return f"{study_id}:{MANAGER}" if manager else f"{study_id}"


def parse_grant(value: str) -> tuple[int, int | None, bool]:
    """(study id, site id or None, study manager); ValueError for a value that is none of the forms."""
    study, _sep, rest = value.partition(":")
    if rest == MANAGER:
        return int(study), None, True
    return int(study), (int(rest) if rest else None), False


def grant_options() -> list[tuple[str, Study, Site | None, bool]]:
    """Every grant an admin can give: each study whole, whole as its study manager, then each of its sites."""
    options = []
    for study in db.session.scalars(select(Study).order_by(Study.code)):
        options.append((grant_value(study.id, None), study, None, False))
        options.append((grant_value(study.id, None, True), study, None, True))
        options.extend((grant_value(study.id, site.id), study, site, False) for site in study.sites)
    return options


def grant_labels(user: User) -> list[str]:
    """Readable grants ('NCT01', 'NCT01 (manager)', 'NCT01/BCN'), in a stable order (for the list and the
    audit trail)."""
    labels = []
    for grant in user.grants:
        study = db.session.get(Study, grant.study_id)
        site = db.session.get(Site, grant.site_id) if grant.site_id else None
        if site is not None:
            labels.append(f"{study.code}/{site.code}")
        else:
            labels.append(f"{study.code} (manager)" if grant.manager else study.code)
    return sorted(labels)


def current_grants(user: User) -> list[str]:
    return sorted(grant_value(gr.study_id, gr.site_id, bool(gr.manager)) for gr in user.grants)


def _set_grants(user: User, values: list[str]) -> None:
    """Make the user's grants exactly these (no duplicates; a whole-study grant makes its site grants moot,
    and a study-manager grant is a whole-study grant)."""
    parsed = {parse_grant(v) for v in values}
    managed = {study for study, _site, manager in parsed if manager}
    whole = {study for study, site, _manager in parsed if site is None}
    wanted = {(study, None, True) for study in managed}
    wanted |= {(study, None, False) for study, site, _m in parsed if site is None and study not in managed}
    wanted |= {(study, site, False) for study, site, _m in parsed if site is not None and study not in whole}
    for grant in list(user.grants):
        key = (grant.study_id, grant.site_id, bool(grant.manager))
        if key in wanted:
            wanted.discard(key)
        else:
            user.grants.remove(grant)
    db.session.flush()
    for study_id, site_id, manager in sorted(wanted, key=lambda k: (k[0], k[1] or 0)):
        user.grants.append(StudyGrant(study_id=study_id, site_id=site_id, manager=manager))


def end_staff_sessions(user_id: int, reason: str, *, keep_current: bool) -> None:
    """End every live staff session of the user at once (a patient session they handed over is not theirs);
    with `keep_current`, this browser's own session stays."""
    keep = sessions.current(SessionKind.STAFF, touch=False) if keep_current else None
    for record in db.session.scalars(select(AuthSession).where(
            AuthSession.user_id == user_id, AuthSession.kind == SessionKind.STAFF, AuthSession.ended_at.is_(None))):
        if keep is None or record.id != keep.id:
            sessions.end(record, reason)


def lockout_problem(admin: User, user: User, role: str, active: bool) -> tuple[str, str] | None:
    """(field, message) when an administrator would lock themselves out (disable their own account or drop
    their own administrator role); None otherwise."""
    if user.id != admin.id:
        return None
    if not active:
        return "active", _("You cannot disable your own account.")
    if role != Role.ADMIN:
        return "role", _("You cannot remove your own administrator role.")
    return None


def update_user(admin: User, user: User, *, role: str, active: bool, grants: list[str], reason: str | None) -> None:
    """Change role, active and grants; audited as user.disable, user.enable or user.update (only what changed).
    Disabling ends the user's staff sessions."""
    old = {"role": user.role, "active": user.active, "grants": grant_labels(user)}
    user.role, user.active = role, active
    _set_grants(user, grants)
    db.session.flush()
    db.session.expire(user, ["grants"])
    new = {"role": user.role, "active": user.active, "grants": grant_labels(user)}
    changed = [key for key in old if old[key] != new[key]]
    if not changed:
        return
    if old["active"] and not new["active"]:
        action = "user.disable"
        end_staff_sessions(user.id, "revoked", keep_current=user.id == admin.id)
        tokens.revoke_all_of(user.id, by=admin.id, reason="account disabled")
    elif new["active"] and not old["active"]:
        action = "user.enable"
    else:
        action = "user.update"
    audit.record(action, "user", user.id, actor=Actor.USER, user_id=admin.id,
                 old={k: old[k] for k in changed}, new={k: new[k] for k in changed}, reason=reason)


def reset_password(admin: User, user: User, reason: str | None, password: str | None = None) -> str:
    """Set the password the admin chose (checked by the policy), or a generated one; returns it (to show
    once). The user's sessions end and login failures are cleared (a slowed-down user is often why the
    password is reset)."""
    chosen = bool(password)
    if chosen:
        try:
            check_password(password, email=user.email)
        except WeakPassword as exc:
            raise UserError(str(exc)) from exc
    else:
        password = generate_password()
    user.password_hash = hash_password(password)
    end_staff_sessions(user.id, "revoked", keep_current=user.id == admin.id)
    throttle.clear(account_key(user.email))
    audit.record("user.reset_password", "user", user.id, actor=Actor.USER, user_id=admin.id,
                 new={"password": "chosen by the admin" if chosen else "generated"}, reason=reason)
    return password


#: How far back the admins' list of accounts under attack looks.
ATTACK_HOURS = 24
#: Failed logins on one account within ATTACK_HOURS that make it listed.
ATTACK_FAILURES = 3


@dataclass(frozen=True)
class UnderAttack:
    email: str
    user_id: int | None
    failures: int
    clients: int
    last: datetime
    delayed_until: datetime | None


def under_attack() -> list[UnderAttack]:
    """Addresses with repeated failed logins lately (known accounts first), from the audit trail."""
    since = utcnow() - timedelta(hours=ATTACK_HOURS)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.login_failed",
                                                         AuditEvent.at >= since)
                                .order_by(AuditEvent.id.desc()).limit(20000)).all()
    grouped: dict[str, list[AuditEvent]] = {}
    for event in events:
        grouped.setdefault((event.new or {}).get("email", ""), []).append(event)
    now = utcnow()
    rows = []
    for email, found in grouped.items():
        if len(found) < ATTACK_FAILURES:
            continue
        state = account_state(email)
        rows.append(UnderAttack(email=email, user_id=found[0].entity_id, failures=len(found),
                                clients=len({(e.new or {}).get("client") for e in found}), last=found[0].at,
                                delayed_until=state.open_at if state.waiting(now) else None))
    return sorted(rows, key=lambda r: (r.user_id is None, -r.failures, r.email))[:100]
