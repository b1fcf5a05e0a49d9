"""Staff login and logout (Argon2id, throttling per account in the database, server-side sessions), and
handing an assessment over to a patient: on this tablet, or by a start code for another one."""

from __future__ import annotations

import re

from .. import audit
from ..clock import utcnow
from ..kiosk import services as kiosk
from ..models import Assessment, User
from ..security import codes, passwords, sessions, throttle
from ..security.accounts import account_key, account_state, authenticate
from ..users.services import end_staff_sessions
from ..vocabulary import Actor, Mode, SessionKind


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


def change_password(user: User, current: str, new: str) -> bool:
    """Set the user's own password (already checked by the policy) when `current` is right; the user's other
    staff sessions end at once (a password changed because it leaked must shut out whoever has it).

    A wrong current password counts as a failed login of the account (someone at an open session must not
    guess the password at leisure) and is audited; False then, and nothing changes.
    """
    right = passwords.verify_password(user.password_hash, current)
    waiting = account_state(user.email).waiting(utcnow())
    if waiting or not right:
        if not waiting:  # as at login: a try inside the delay is refused without counting
            throttle.fail(account_key(user.email))
        audit.record("user.change_password_failed", "user", user.id, actor=Actor.USER, user_id=user.id)
        return False
    user.password_hash = passwords.hash_password(new)
    end_staff_sessions(user.id, "password_changed", keep_current=True)
    throttle.clear(account_key(user.email))
    audit.record("user.change_password", "user", user.id, actor=Actor.USER, user_id=user.id,
                 new={"password": "changed", "other_sessions": "ended"})
    return True
#: A staff page of this site, as a path and query: printable characters only, never a line break (a header
#: split), a backslash or a second slash (another site for some browsers).
_STAFF_PAGE = re.compile(r"/staff/(?![/\\])[!-~]{0,500}")


def safe_next(target: str | None) -> str | None:
    """Where to go after logging in: only a staff page of this site."""
    return target if target and _STAFF_PAGE.fullmatch(target) and "\\" not in target else None


def _startable(assessment: Assessment) -> None:
    if not kiosk.can_hand_over(assessment):
        raise NotStartable(assessment.id)


def hand_over(user: User, assessment: Assessment, mode: str = Mode.SELF) -> str:
    """Put this browser in patient mode on the assessment, the patient answering by themselves (`self`) or with
    a member of staff reading the questions and entering the answers (`assisted`); returns the patient's
    language."""
    if mode not in (Mode.SELF, Mode.ASSISTED):
        raise ValueError(f"not a tablet mode: {mode!r}")
    _startable(assessment)
    kiosk.begin_patient(assessment, handed_over_by=user.id, mode=mode)
    kiosk.prepare_tablet(assessment)
    audit.record("assessment.hand_over", "assessment", assessment.id, actor=Actor.USER, user_id=user.id,
                 study_id=assessment.participant.study_id, new={"mode": str(mode)})
    return assessment.participant.language


def issue_code(user: User, assessment: Assessment) -> str:
    """A new start code for the assessment (earlier ones stop working); the plain code is returned once."""
    _startable(assessment)
    code = codes.issue(assessment, user.id)
    audit.record("assessment.code", "assessment", assessment.id, actor=Actor.USER, user_id=user.id,
                 study_id=assessment.participant.study_id)
    return code
