"""`/api/v1`: the analyst data sets over HTTP, with bearer tokens. Read-only; no cookies, so no CSRF."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, jsonify, request, stream_with_context

from .. import access
from ..exports.chunks import FilterError
from ..exports.datasets import DATASETS, ExportError, Filters, study_by_code
from ..exports.labelled import STATA_VERSIONS
from ..exports.service import DEFINE_FILENAME, DEFINE_MIMETYPE, default_format, define, formats_for, prepare, stream
from ..extensions import csrf
from ..tokens import services as tokens
from .openapi import EXCEL, openapi
from .problems import problem as _problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _token_or_401():
    token = tokens.authenticate(request.headers.get("Authorization"))
    if token is None:
        abort(_problem(401, "a valid, unexpired API token is needed: Authorization: Bearer <token>"))
    return token


#: A filter date: wide (a script may ask for "everything up to 2100"), but never one a day away from the end of
#: the calendar (9999-12-31 overflowed).
FILTER_DATES = (date(1900, 1, 1), date(2999, 12, 31))


def _date(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None:  # absent; an empty `from=` is a 400 like any other non-date (it gave every row, unfiltered)
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not FILTER_DATES[0] <= day <= FILTER_DATES[1]:
        abort(_problem(400, f"{name} must be a date, YYYY-MM-DD, from {FILTER_DATES[0]} to {FILTER_DATES[1]}"))
    return day


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi())


@bp.get("/studies")
def studies():
    token = _token_or_401()
    visible = [s for s in token.studies if tokens.allows(token, s)]
    return jsonify([{"code": s.code, "title": s.title} for s in visible])


def _study_or_403(token, code: str):
    try:
        study = study_by_code(code)
    except ExportError:
        study = None
    if study is None or not tokens.allows(token, study):
        abort(_problem(403, f"this token does not give access to study {code!r}"))
    return study


@bp.get("/studies/<code>/define.xml")
def define_document(code: str):
    """define.xml (Define-XML 2.1) for the study's CDISC data sets; audited as an export."""
    token = _token_or_401()
    study = _study_or_403(token, code)
    if access.granted_site_codes(token.user, study):  # define.xml's lengths come from every site's data
        return _problem(403, "this token gives access to some sites only; define.xml describes every site's data")
    user_id, token_name = token.user_id, token.name
    try:
        data = define(study.code, actor="user", user_id=user_id, via=f"api:{token_name}",
                      stylesheet=request.args.get("stylesheet"))
    except FilterError as exc:
        return _problem(400, str(exc))
    response = Response(data, content_type=f"{DEFINE_MIMETYPE}; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{DEFINE_FILENAME}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/studies/<code>/datasets/<name>")
def dataset(code: str, name: str):
    token = _token_or_401()
    study = _study_or_403(token, code)
    if name not in DATASETS:
        return _problem(404, f"unknown data set {name!r} (one of: {', '.join(DATASETS)})")
    fmt = request.args.get("format", default_format(name))
    if fmt not in formats_for(name):
        return _problem(400, f"format for the {name} data set must be one of: {', '.join(formats_for(name))}")
    stata_version = request.args.get("stata_version")
    if stata_version is not None and (fmt != "dta" or stata_version not in {str(v) for v in STATA_VERSIONS}):
        return _problem(400, f"stata_version is for format=dta only, one of: {', '.join(map(str, STATA_VERSIONS))}")
    excel = request.args.get("excel", "0")
    if excel not in EXCEL:  # `excel=true` silently gave a CSV without the byte-order mark it asked for
        return _problem(400, "excel must be 1 (a byte-order mark for Excel) or 0")
    sites = tuple(request.args.getlist("site"))
    granted = access.granted_site_codes(token.user, study)  # empty: every site
    if granted:  # a site-limited analyst's token reads only those sites
        if set(sites) - set(granted):
            return _problem(403, f"this token gives access to sites {', '.join(granted)} only")
        sites = sites or granted
    filters = Filters(sites, tuple(request.args.getlist("timepoint")), _date("from"), _date("to"))
    try:
        export = prepare(code, name, fmt, filters, stata_version=int(stata_version) if stata_version else None)
    except FilterError as exc:
        return _problem(400, str(exc))
    user_id, token_name = token.user_id, token.name
    # The body runs after this view has committed, in a read-only transaction of its own.
    body = stream(export, actor="user", user_id=user_id, via=f"api:{token_name}",
                  excel=excel == "1")
    response = Response(stream_with_context(body), content_type=export.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    current_app.logger.info("export %s/%s as %s via token %s", code, name, fmt, token_name)
    return response
