"""Staff passwords: the one policy every way of setting one goes through (admin forms, self-service change,
`pro-app user create`), and Argon2id hashing (argon2-cffi defaults, above the OWASP floor), rehashed when
the parameters change."""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

_hasher = PasswordHasher()  # Argon2id

#: Shortest password accepted.
MIN_LENGTH = 12
#: Longest: what the login form takes (auth/forms.py), so no password is set that could never log in.
MAX_LENGTH = 200
#: zxcvbn's score (0 to 4) a password must reach: 3 is "safely unguessable" against an online attack and
#: strong against a stolen hash slowed by Argon2 (about 10^8 guesses and more).
MIN_SCORE = 3
#: zxcvbn refuses longer input (its matching grows with the square of the length); the first 72 characters
#: are scored, which only ever errs on the side of refusing.
SCORED_LENGTH = 72
#: Words anyone guessing at this application would try first.
APP_WORDS = ("pro-app", "proapp", "epro", "patient", "paciente", "clinic", "clinica", "study", "estudio")

#: zxcvbn's warnings (English only, from its feedback module), said in the interface's language.
_WARNINGS = {
    "Straight rows of keys are easy to guess.": _l("Straight rows of keys are easy to guess."),
    "Short keyboard patterns are easy to guess.": _l("Short keyboard patterns are easy to guess."),
    'Repeats like "aaa" are easy to guess.': _l('Repeats like "aaa" are easy to guess.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        _l('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    'Sequences like "abc" or "6543" are easy to guess.': _l('Sequences like "abc" or "6543" are easy to guess.'),
    "Recent years are easy to guess.": _l("Recent years are easy to guess."),
    "Dates are often easy to guess.": _l("Dates are often easy to guess."),
    "This is a top-10 common password.": _l("This is one of the most common passwords."),
    "This is a top-100 common password.": _l("This is one of the most common passwords."),
    "This is a very common password.": _l("This is a very common password."),
    "This is similar to a commonly used password.": _l("This is similar to a commonly used password."),
    "A word by itself is easy to guess.": _l("A word by itself is easy to guess."),
    "Names and surnames by themselves are easy to guess.": _l("Names and surnames by themselves are easy to guess."),
    "Common names and surnames are easy to guess.": _l("Common names and surnames are easy to guess."),
}


def password_problem(password: str | None, *, email: str | None = None) -> str | None:
    """Why this password may not be set (one sentence, in the request's language), or None when it may.

    Refused: shorter than MIN_LENGTH or longer than MAX_LENGTH characters, only spaces, control characters
    (the forms cannot send them, so such a password could never log in), and whatever zxcvbn scores below
    MIN_SCORE, counting the account's email address and this application's name as known words.
    """
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _("The password must have at least %(count)s characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("The password must have at most %(count)s characters.", count=MAX_LENGTH)
    if not password.strip():
        return _("The password cannot be only spaces.")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in password):
        return _("The password cannot contain control characters (such as a tab or a line break).")
    known = [*APP_WORDS]
    if email:
        local, _at, domain = email.strip().lower().partition("@")
        known += [email.strip().lower(), local, *domain.split(".")]
    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=[word for word in known if word])
    if result["score"] >= MIN_SCORE:
        return None
    warning = _WARNINGS.get(result["feedback"]["warning"])
    advice = _("This password is too easy to guess. Use a longer phrase of a few uncommon words.")
    return f"{warning} {advice}" if warning else advice


class WeakPassword(ValueError):
    """A password the policy refuses; the message says why."""


def check_password(password: str | None, *, email: str | None = None) -> None:
    """Raise WeakPassword when `password_problem` finds one."""
    problem = password_problem(password, email=email)
    if problem:
        raise WeakPassword(problem)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy_hashes: dict[int, str] = {}


def verify_dummy(password: str) -> bool:
    """Spend what a real verification costs (an unknown account must not answer faster); always False."""
    dummy = _dummy_hashes.get(id(_hasher))
    if dummy is None:
        dummy = _dummy_hashes.setdefault(id(_hasher), _hasher.hash("no account has this password"))
    verify_password(dummy, password)
    return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
