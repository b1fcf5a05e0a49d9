"""Input refused before any view sees it: a Host header that names no host of this installation, and NUL or
control characters in the path, the query or a form (no field of pro-app takes one, PostgreSQL cannot store
a NUL, and a control character in a stored value can forge lines in a log or an export)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, abort, request

#: Answered when neither PRO_APP_SERVER_NAME nor PRO_APP_ALLOWED_HOSTS is set: the development server and
#: `pro-app serve` on this machine.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_HOST = re.compile(r"(?P<name>[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\])(?::(?P<port>[0-9]{1,5}))?",
                   re.IGNORECASE)
#: Set on the WSGI environ of a request whose Host header was not allowed (its Host is replaced by an allowed
#: one so that routing and the error page work; the request itself is then refused with a 400).
REFUSED_HOST = "pro_app.refused_host"
#: C0 controls and DEL, and the C1 controls; a form value may hold tabs and line breaks (a text area).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def allowed_hosts(server_name: str | None, hosts: Iterable[str]) -> tuple[str, ...]:
    """The host names this installation answers to, lower-case; "*" for any well-formed one."""
    chosen = [server_name] if server_name else [h for h in hosts if h.strip()]
    return tuple(h.strip().lower() for h in chosen) or LOCAL_HOSTS


def host_allowed(header: str, allowed: tuple[str, ...]) -> bool:
    """A Host header ("name" or "name:port") well formed and naming an allowed host; ".example.org" in the list
    allows example.org and every name under it."""
    match = _HOST.fullmatch(header)
    if match is None or (match["port"] is not None and not 1 <= int(match["port"]) <= 65535):
        return False
    name = match["name"].lower()
    return any(entry == "*" or name == entry or (entry.startswith(".") and (name == entry[1:] or
                                                                           name.endswith(entry)))
               for entry in allowed)


class HostGuard:
    """WSGI middleware: a Host header not allowed is marked and replaced before Flask reads it (Flask would
    route on it first, and a 5,000-character name failed in the IDNA codec with a 500)."""

    def __init__(self, wsgi_app, allowed: tuple[str, ...]):
        self.wsgi_app, self.allowed = wsgi_app, allowed
        self.fallback = next((h for h in allowed if h != "*" and not h.startswith(".")), "localhost")

    def __call__(self, environ, start_response):
        header = environ.get("HTTP_HOST")
        if header is not None and not host_allowed(header, self.allowed):
            environ = {**environ, "HTTP_HOST": self.fallback, REFUSED_HOST: True}
        return self.wsgi_app(environ, start_response)


def _has_control(values: Iterable[str], pattern: re.Pattern) -> bool:
    return any(pattern.search(value) for value in values)


def install(app: Flask, allowed: tuple[str, ...]) -> None:
    app.wsgi_app = HostGuard(app.wsgi_app, allowed)  # type: ignore[method-assign]

    @app.before_request
    def _refuse_bad_input():
        if request.environ.get(REFUSED_HOST):
            abort(400, description="this host name is not served here")
        args, form = request.args, request.form
        if (_has_control((request.path,), _CONTROL)
                or _has_control((*args.keys(), *form.keys()), _CONTROL)
                or _has_control((v for _, v in args.items(multi=True)), _CONTROL)
                or _has_control((v for _, v in form.items(multi=True)), _CONTROL_IN_TEXT)):
            abort(400, description="NUL and control characters are refused in the address, the query and forms")
