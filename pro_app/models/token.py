"""API tokens for analysts: named, scoped to studies, read-only, expiring, revocable; stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..database import UTCDateTime
from ..extensions import db
from .study import Study
from .user import User

api_token_study = Table(
    "api_token_study",
    db.metadata,
    Column("token_id", ForeignKey("api_token.id"), primary_key=True),
    Column("study_id", ForeignKey("study.id"), primary_key=True),
)


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # what the analyst calls it, e.g. "R on my laptop"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise it in the list
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    studies: Mapped[list[Study]] = relationship(secondary=api_token_study, order_by="Study.code")
