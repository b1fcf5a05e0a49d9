"""The SMTP relay that alert emails go through, configured from the environment (settings.py):

- `PRO_APP_SMTP_URL`: `smtp://[user[:password]@]host[:port]` (port 587 by default) or `smtps://…` (465);
  a user name or password with special characters is percent-encoded;
- `PRO_APP_SMTP_TLS`: `starttls` (the default for smtp://: the connection is upgraded, and refused if the relay
  cannot), `ssl` (the default for smtps://) or `none` (plain SMTP: only for a relay on this machine);
- `PRO_APP_SMTP_FROM`: the sender address.

Without `PRO_APP_SMTP_URL` email is off: nothing is queued or sent, and the alert pages say so. A URL that
cannot be used stops start-up with a message saying what to change (SettingsError), never a failure later.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from ..settings import Settings, SettingsError

TLS_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
#: An address as pro-app accepts one (the sender, a study's recipients): one local part and a dotted domain,
#: no spaces, commas, angle brackets or line ends (nothing that could add a header or a second recipient).
ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
MAX_ADDRESS = 254


def valid_address(text: str) -> bool:
    return len(text) <= MAX_ADDRESS and ADDRESS.fullmatch(text) is not None


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: str
    sender: str
    username: str | None = None
    password: str | None = None
    timeout: float = 10

    def __repr__(self) -> str:  # never the password in a log line or a traceback
        return f"SmtpConfig(host={self.host!r}, port={self.port}, tls={self.tls!r}, sender={self.sender!r})"


def smtp_config(settings: Settings) -> SmtpConfig | None:
    """The relay the settings name; None when email is off. SettingsError for a URL that cannot be used."""
    if not settings.smtp_url:
        return None
    url = urlsplit(settings.smtp_url.strip())
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise SettingsError("PRO_APP_SMTP_URL must look like smtp://user:password@relay.example.org:587 "
                            "(or smtps://… for TLS from the start).")
    tls = (settings.smtp_tls or ("ssl" if url.scheme == "smtps" else "starttls")).strip().lower()
    if tls not in TLS_MODES:
        raise SettingsError(f"PRO_APP_SMTP_TLS must be one of {', '.join(TLS_MODES)}.")
    try:
        port = url.port or DEFAULT_PORTS[tls]
    except ValueError:
        raise SettingsError("PRO_APP_SMTP_URL has a port that is not a number from 1 to 65535.") from None
    sender = (settings.smtp_from or "").strip()
    if not valid_address(sender):
        raise SettingsError("PRO_APP_SMTP_FROM must be the sender's email address (for example "
                            "pro-app@hospital.example) when PRO_APP_SMTP_URL is set.")
    if settings.smtp_timeout_seconds < 1:
        raise SettingsError("PRO_APP_SMTP_TIMEOUT_SECONDS must be at least 1.")
    return SmtpConfig(host=url.hostname, port=port, tls=tls, sender=sender,
                      username=unquote(url.username) if url.username else None,
                      password=unquote(url.password) if url.password else None,
                      timeout=settings.smtp_timeout_seconds)


class SendFailed(Exception):
    """The relay could not be reached or refused the message; the text is short and holds no secret."""


def send(config: SmtpConfig, message: EmailMessage) -> None:
    """Hand one message to the relay (one connection per message; alert emails are few). SendFailed on
    any failure, with the relay's answer or the network error."""
    context = ssl.create_default_context()
    try:
        if config.tls == "ssl":
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with client:
            if config.tls == "starttls":
                client.starttls(context=context)
            if config.username:
                client.login(config.username, config.password or "")
            refused = client.send_message(message)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        raise SendFailed(_describe(error)) from None
    if refused:
        raise SendFailed("refused: " + ", ".join(sorted(refused)))


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        answer = error.smtp_error
        text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
        return f"{error.smtp_code} {text}"[:300]
    if isinstance(error, TimeoutError):
        return "the relay did not answer in time"
    return (f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)[:300]
