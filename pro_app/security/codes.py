"""Patient start codes: short, unambiguous, single-assessment, expiring, stored only as hashes."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from ..clock import utcnow
from ..extensions import db
from ..models import Assessment, PatientCode

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: letters and digits a patient cannot confuse when typing.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
LENGTH = 8


# Separators a patient (or a tablet's autocorrect) may type inside a code, ignored: every whitespace, every
# dash (Unicode category Pd: hyphen, non-breaking hyphen, en and em dash, ...), minus signs, soft hyphens,
# zero-width characters, dots and underscores. Applied after NFKC, which folds full-width forms and "…".
_SEPARATOR = re.compile(r"[\s._\u00ad\u00b7\u2043\u2212\u200b-\u200d\u2060\ufeff]")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    return _SEPARATOR.sub("", "".join(c for c in text if unicodedata.category(c) != "Pd")).upper()


def digest(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def formatted(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def issue(assessment: Assessment, user_id: int | None) -> str:
    """A new code for the assessment (earlier ones stop working). The plain code is returned once."""
    revoke_all(assessment)
    hours = current_app.config["SETTINGS"].patient_code_hours
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if db.session.scalar(select(PatientCode.id).where(PatientCode.code_hash == digest(code))) is None:
            break
    db.session.add(PatientCode(code_hash=digest(code), assessment_id=assessment.id, created_by_id=user_id,
                               expires_at=utcnow() + timedelta(hours=hours)))
    return formatted(code)


def find(code: str) -> PatientCode | None:
    """The code's record, whatever its state (None for a code never issued)."""
    if len(normalise(code)) != LENGTH:
        return None
    return db.session.scalar(select(PatientCode).where(PatientCode.code_hash == digest(code)))


def is_valid(found: PatientCode) -> bool:
    return found.revoked_at is None and found.expires_at > utcnow()


def revoke_all(assessment: Assessment) -> None:
    db.session.execute(
        update(PatientCode)
        .where(PatientCode.assessment_id == assessment.id, PatientCode.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
