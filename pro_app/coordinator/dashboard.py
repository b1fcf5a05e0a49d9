"""Today's work: a panel per study, a study's dashboard (due, open, overdue, missed, in progress, alerts),
its compliance table per timepoint and site, and the scored-results downloads (through exports.service,
so they are the analysts' data sets and are audited)."""

from __future__ import annotations

from flask import Response, abort, current_app, g, render_template, stream_with_context
from flask_babel import lazy_gettext as _l

from .. import access, worklist
from ..database import utcnow
from ..exports.datasets import Filters
from ..exports.service import prepare, stream
from ..extensions import db
from ..i18n import NOT_DONE_LABELS
from ..models import NOT_DONE_REASONS
from .auth import staff_required
from .blueprint import bp
from .lookups import study_or_404
from .navigation import register

register("coordinator.today", _l("Today"), order=5)

#: The data sets and formats a study page offers (the API and command line offer more).
DOWNLOAD_DATASETS = {
    "scores": _l("Scores (one row per scale)"),
    "wide": _l("Wide (one row per assessment)"),
    "items": _l("Items (one row per answer)"),
    "compliance": _l("Compliance (one row per assessment)"),
    "codebook": _l("Codebook"),
}
DOWNLOAD_FORMATS = {"csv": "CSV", "xlsx": "XLSX"}
DOWNLOAD_ROLES = ("admin", "coordinator", "analyst")




def _page(template: str, **context):
    db.session.commit()  # end the read transaction before rendering
    response = current_app.make_response(render_template(template, **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/today")
@staff_required
def today():
    now = utcnow()
    studies = db.session.scalars(access.visible_studies(g.user)).all()
    panels = [worklist.dashboard(g.user, study, now) for study in studies]
    return _page("coordinator/dashboard/today.html", panels=panels, buckets=worklist.BUCKETS,
                 bucket_labels=worklist.BUCKET_LABELS)


@bp.get("/studies/<code>/dashboard")
@staff_required
def study_dashboard(code: str):
    study = study_or_404(code)
    board = worklist.dashboard(g.user, study, utcnow())
    return _page("coordinator/dashboard/study.html", study=study, board=board, buckets=worklist.BUCKETS,
                 bucket_labels=worklist.BUCKET_LABELS, bucket_help=worklist.BUCKET_HELP,
                 datasets=DOWNLOAD_DATASETS, formats=DOWNLOAD_FORMATS)


@bp.get("/studies/<code>/compliance")
@staff_required
def compliance(code: str):
    study = study_or_404(code)
    table = worklist.compliance_table(g.user, study, utcnow())
    sites = {s.code: s.name for s in study.sites}
    return _page("coordinator/dashboard/compliance.html", study=study, rows=table.to_dict("records"),
                 sites=sites, reasons=NOT_DONE_REASONS, reason_labels=NOT_DONE_LABELS,
                 limited_to=access.granted_site_codes(g.user, study),
                 datasets=DOWNLOAD_DATASETS, formats=DOWNLOAD_FORMATS)


@bp.get("/studies/<code>/download/<dataset>/<fmt>")
@staff_required
def study_download(code: str, dataset: str, fmt: str):
    if g.user.role not in DOWNLOAD_ROLES:
        abort(403)
    study = study_or_404(code)
    if dataset not in DOWNLOAD_DATASETS or fmt not in DOWNLOAD_FORMATS:
        db.session.commit()
        abort(404)
    export = prepare(study.code, dataset, fmt, Filters(sites=access.granted_site_codes(g.user, study)))
    user_id = g.user.id
    db.session.commit()
    body = stream(export, actor="user", user_id=user_id, via="staff", excel=fmt == "csv")
    response = Response(stream_with_context(body), mimetype=export.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
