"""Staff login and logout (Argon2id, throttling per account in the database, server-side sessions), and
handing an assessment over to a patient: on this tablet, or by a start code for another one."""

from __future__ import annotations

import re

from .. import audit
from ..kiosk import services as kiosk
from ..models import Assessment, User
from ..security import codes, sessions
from ..security.accounts import authenticate
from ..vocabulary import Actor, SessionKind


class NotStartable(Exception):
    """The assessment cannot be started now (withdrawn participant, window not open, finished)."""


def login(email: str, password: str) -> User | None:
    """Start a staff session when the credentials are right and the account is not locked."""
    user = authenticate(email, password)
    if user is None:
        return None
    sessions.begin(SessionKind.STAFF, user_id=user.id)
    audit.record("user.login", "user", user.id, actor=Actor.USER, user_id=user.id)
    return user


def logout() -> None:
    record = sessions.current(SessionKind.STAFF, touch=False)
    if record is not None:
        audit.record("user.logout", "user", record.user_id, actor=Actor.USER, user_id=record.user_id)
    sessions.end_current("logout")


#: A staff page of this site, as a path and query: printable characters only, never a line break (a header
#: split), a backslash or a second slash (another site for some browsers).
_STAFF_PAGE = re.compile(r"/staff/(?![/\\])[!-~]{0,500}")


def safe_next(target: str | None) -> str | None:
    """Where to go after logging in: only a staff page of this site."""
    return target if target and _STAFF_PAGE.fullmatch(target) and "\\" not in target else None


def _startable(assessment: Assessment) -> None:
    if not kiosk.can_hand_over(assessment):
        raise NotStartable(assessment.id)


def hand_over(user: User, assessment: Assessment) -> str:
    """Put this browser in patient mode on the assessment; returns the patient's language."""
    _startable(assessment)
    kiosk.begin_patient(assessment, handed_over_by=user.id)
    audit.record("assessment.hand_over", "assessment", assessment.id, actor=Actor.USER, user_id=user.id,
                 study_id=assessment.participant.study_id)
    return assessment.participant.language


def issue_code(user: User, assessment: Assessment) -> str:
    """A new start code for the assessment (earlier ones stop working); the plain code is returned once."""
    _startable(assessment)
    code = codes.issue(assessment, user.id)
    audit.record("assessment.code", "assessment", assessment.id, actor=Actor.USER, user_id=user.id,
                 study_id=assessment.participant.study_id)
    return code
