"""The API's error bodies: `{"status": …, "detail": …}` as JSON (the OpenAPI document's Problem), for the
API views and for every error raised on an `/api/` path before or outside them (control characters, an
unknown path, a method not allowed, the database down), so a script never has to parse an HTML page."""

from __future__ import annotations

from flask import Response, jsonify, request

PREFIX = "/api/"


def for_api() -> bool:
    """This request is for the API (its errors are answered as JSON)."""
    return request.path.startswith(PREFIX)


def problem(status: int, detail: str) -> Response:
    response = jsonify({"status": status, "detail": detail})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="pro-app"'
    return response
