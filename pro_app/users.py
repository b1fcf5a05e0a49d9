"""Creating staff accounts (command line now; the admin screens use the same service)."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from . import audit
from .extensions import db
from .models import ROLES, Study, StudyGrant, User
from .security.passwords import hash_password

MIN_PASSWORD = 12


class UserError(ValueError):
    pass


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(email: str, role: str, password: str, study_codes=(), *, by: int | None = None) -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise UserError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
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
    audit.record("user.create", "user", user.id, actor="user" if by else "system", user_id=by,
                 new={"email": email, "role": role, "studies": list(study_codes)})
    return user
