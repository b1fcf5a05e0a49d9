"""Staff accounts and what each may see (grants per study and, where set, per site)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..database import UTCDateTime, one_of
from ..extensions import db
from ..vocabulary import Role

ROLES = tuple(r.value for r in Role)


class User(db.Model):
    __tablename__ = "user"
    __table_args__ = (one_of("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(200))  # Argon2id
    role: Mapped[str] = mapped_column(String(16))  # admin | coordinator | analyst
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    grants: Mapped[list[StudyGrant]] = relationship(back_populates="user", cascade="all, delete-orphan")


class StudyGrant(db.Model):
    __tablename__ = "study_grant"
    __table_args__ = (UniqueConstraint("user_id", "study_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))  # None: every site of the study
    #: A study-manager grant (whole study only): the coordinator edits the study's setup and may create studies.
    manager: Mapped[bool] = mapped_column(default=False, server_default=false())

    user: Mapped[User] = relationship(back_populates="grants")
