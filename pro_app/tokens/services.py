"""Creating, checking and revoking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from .. import access, audit
from ..access import TOKEN_HOLDERS
from ..clock import utcnow
from ..extensions import db
from ..models import ApiToken, Study, User
from ..vocabulary import Actor

PREFIX = "proapp_"
MAX_DAYS = 365


class TokenError(ValueError):
    pass


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(user: User, name: str, study_ids: list[int], days: int) -> tuple[ApiToken, str]:
    """A new token for `user`, limited to studies the user may see; the plain token is returned once."""
    if user.role not in TOKEN_HOLDERS:
        raise TokenError("only analysts and administrators can create API tokens")
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(f"a token lasts from 1 to {MAX_DAYS} days")
    visible = {s.id: s for s in db.session.scalars(access.visible_studies(user))}
    if not study_ids or any(i not in visible for i in study_ids):
        raise TokenError("choose at least one study you have access to")
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name.strip()[:100] or "token", token_hash=digest(plain), prefix=plain[:12],
                     user_id=user.id, expires_at=utcnow() + timedelta(days=days),
                     studies=[visible[i] for i in study_ids])
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", "api_token", token.id, actor=Actor.USER, user_id=user.id,
                 new={"name": token.name, "studies": [s.code for s in token.studies], "days": days})
    return token, plain


def revoke(user: User, token_id: int) -> ApiToken | None:
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and user.role != "admin"):
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoke", "api_token", token.id, actor=Actor.USER, user_id=user.id)
    return token


def revoke_all_of(user_id: int, *, by: int | None, reason: str) -> int:
    """Revoke every live token of the user (their account was disabled: enabling it again must not bring the
    tokens back, a new one has to be issued); each is audited. Returns how many."""
    live = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))).all()
    for token in live:
        token.revoked_at = utcnow()
        audit.record("token.revoke", "api_token", token.id, actor=Actor.USER if by else Actor.SYSTEM, user_id=by,
                     reason=reason)
    return len(live)


def tokens_of(user: User) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at.desc())
    if user.role != "admin":
        query = query.where(ApiToken.user_id == user.id)
    return list(db.session.scalars(query))


def authenticate(header: str | None) -> ApiToken | None:
    """The live token named by an `Authorization: Bearer …` header, or None."""
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():  # the scheme is case-insensitive (RFC 9110)
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(credentials.strip())))
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    if not token.user.active or token.user.role not in TOKEN_HOLDERS:
        return None
    token.last_used_at = utcnow()
    return token


def allows(token: ApiToken, study: Study) -> bool:
    """The token names the study, and its owner still has access to it."""
    if study.id not in {s.id for s in token.studies}:
        return False
    return study.id in {s.id for s in db.session.scalars(access.visible_studies(token.user))}
