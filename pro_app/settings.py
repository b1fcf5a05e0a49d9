"""One typed settings object, read from the environment with safe defaults."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .security.files import private_folder

PREFIX = "PRO_APP_"
#: A folder of instrument definitions that add to, or replace, the bundled ones (licensed wording).
INSTRUMENTS_DIR_ENV = f"{PREFIX}INSTRUMENTS_DIR"


def instruments_dir_from(environ: Mapping[str, str] | None = None) -> str | None:
    """The site's instruments folder named by the environment (None: the bundled definitions only)."""
    env = os.environ if environ is None else environ
    return env.get(INSTRUMENTS_DIR_ENV) or None


def _secret_key(instance_path: Path) -> str:
    """The key kept in the instance folder, created once (never a hard-coded fallback).

    The key is written to a temporary file and linked into place, so a second worker starting at the
    same moment, or a crash half-way, never sees an empty key file.
    """
    path = instance_path / "secret_key"
    if not path.exists():
        private_folder(instance_path)
        fd, temporary = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(temporary, 0o600)
            with contextlib.suppress(FileExistsError):  # another process won the race: use its key
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} does not hold a usable key; delete it and a new one is generated")
    return key


#: Flask signs sessions (and CSRF tokens) with the key: a short one can be guessed offline from one cookie.
MIN_SECRET_KEY_BYTES = 32


class SettingsError(RuntimeError):
    """A setting that pro-app refuses to start with; the message says what to change."""


def check_secret_key(key: str) -> None:
    size = len(key.encode("utf-8"))
    if size < MIN_SECRET_KEY_BYTES:
        raise SettingsError(
            f"SECRET_KEY is {size} bytes long; at least {MIN_SECRET_KEY_BYTES} are needed. Set a longer random "
            "one (e.g. python -c 'import secrets; print(secrets.token_hex(32))'), or unset SECRET_KEY to use the "
            "key pro-app keeps in its instance folder.")


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{name}={raw!r}: expected 1/0, true/false, yes/no or on/off")


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    secret_key: str
    #: a folder of site instrument definitions (licensed wording, or instruments of the site's own)
    instruments_dir: str | None = None
    #: seconds of inactivity before the tablet returns to the start screen (answers kept)
    kiosk_idle_seconds: int = 300
    #: seconds before that timeout when the patient is warned
    kiosk_idle_warning_seconds: int = 60
    #: seconds the thank-you screen stays before the tablet returns to the start screen
    kiosk_thanks_seconds: int = 30
    #: milliseconds after an item page is shown, and after Next, during which taps are ignored (a double
    #: tap on Next must not answer the next item)
    kiosk_tap_guard_ms: int = 600
    #: seconds of inactivity before a staff session ends
    staff_idle_seconds: int = 900
    #: hours a patient start code stays valid
    patient_code_hours: int = 24
    #: failed code entries allowed per code and per tablet within the throttle window
    code_attempts_per_code: int = 5
    code_attempts_per_tablet: int = 10
    #: the same on a browser no staff member registered as a tablet (a new cookie is a new browser, so every
    #: unregistered browser together also has one small allowance): far fewer guesses without a registration
    code_attempts_unregistered: int = 3
    code_attempts_unregistered_all: int = 30
    #: failed code entries allowed on the whole installation (every tablet together) per window before code
    #: entry is paused everywhere and admins are alerted (security/code_limit.py; README: Security)
    code_attempts_installation: int = 200
    code_limit_window_seconds: int = 3600
    #: failed logins per account within the window before each further attempt waits a growing delay
    login_attempts: int = 5
    #: the longest wait an account's failures impose (the owner gets in this long after any guessing)
    login_delay_cap_seconds: int = 30
    #: failed logins per client (address) before its attempts wait a growing delay, and the longest wait
    login_client_attempts: int = 20
    login_client_delay_cap_seconds: int = 900
    throttle_window_seconds: int = 900
    #: send cookies only over HTTPS (set 0 for plain-HTTP development and tests)
    secure_cookies: bool = False
    #: the one host name the site is reached by (PRO_APP_SERVER_NAME); other Host headers get a 400
    server_name: str | None = None
    #: or several (PRO_APP_ALLOWED_HOSTS, comma-separated; ".example.org" allows every name under it); with
    #: neither, only localhost, 127.0.0.1 and [::1] are answered
    allowed_hosts: tuple[str, ...] = ()
    #: the SMTP relay that emails alerts (alerts/mail.py; README: Alert emails): smtp://[user[:password]@]host[:port]
    #: or smtps://…; unset: no email is sent, and the alert pages say so
    smtp_url: str | None = None
    #: the sender of alert emails, e.g. pro-app@hospital.example (required with smtp_url)
    smtp_from: str | None = None
    #: starttls (the default for smtp://), ssl (the default for smtps://) or none (a relay on this machine only)
    smtp_tls: str | None = None
    #: seconds the relay may take to answer before an attempt counts as failed (and is retried later)
    smtp_timeout_seconds: int = 10
    #: the address staff open pro-app at (https://pro.hospital.example): the link in alert emails
    public_url: str | None = None
    #: hours between two digest emails of review-level alerts to one recipient about one study
    alert_digest_hours: int = 1
    testing: bool = False

    @classmethod
    def from_env(cls, instance_path: str | Path, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if environ is None else environ
        instance = Path(env.get(f"{PREFIX}INSTANCE_PATH") or instance_path).resolve()
        values: dict = {
            "instance_path": instance,
            "database_url": env.get("DATABASE_URL") or f"sqlite:///{instance / 'pro_app.sqlite3'}",
            "instruments_dir": instruments_dir_from(env),
        }
        for f in fields(cls):
            key = f"{PREFIX}{f.name.upper()}"
            if key in env and f.type in ("int", "bool"):
                values[f.name] = _flag(key, env[key]) if f.type == "bool" else int(env[key].strip())
            elif key in env and f.type == "str | None":
                values[f.name] = env[key].strip() or None
            elif key in env and f.type == "tuple[str, ...]":
                values[f.name] = tuple(part.strip() for part in env[key].split(",") if part.strip())
        values.update(overrides)
        if "secret_key" not in values:
            values["secret_key"] = env.get("SECRET_KEY") or _secret_key(instance)
        return cls(**values)

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)
