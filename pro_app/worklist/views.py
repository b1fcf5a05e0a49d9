"""Routes: every assessment (/staff/), today's work per study, a study's dashboard and compliance, and the
scored-results downloads (through exports.service, so they are the analysts' data sets and are audited)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l

from .. import access
from ..assessments.schedule import local_today
from ..clock import utcnow
from ..exports.datasets import Filters
from ..exports.service import DEFINE_FILENAME, DEFINE_MIMETYPE, define, prepare, stream
from ..extensions import db
from ..vocabulary import NOT_DONE_LABELS, NotDoneReason
from ..web import navigation
from ..web.forms import ActionForm
from ..web.guards import staff_required
from ..web.lookups import study_or_404
from ..web.paging import page_number, paginate
from . import compliance as compliance_service
from . import services

bp = Blueprint("worklist", __name__, url_prefix="/staff")
navigation.register("worklist.today", _l("Today"), order=5)
navigation.register("worklist.index", _l("Assessments"), order=10)

#: The landing page lists today's work of each study (the rest is counted, and on the study's dashboard).
TODAY_LISTED = ("due_today", "overdue", "in_progress")
TODAY_ROWS = 10


@bp.get("/")
@staff_required
def index():
    now = utcnow()
    studies = db.session.scalars(access.visible_studies(g.user)).all()
    chosen = {name: request.args.get(name, "").strip()[:64] for name in ("q", "site", "timepoint", "status", "arm")}
    if chosen["status"] not in services.LIST_STATUSES:
        chosen["status"] = ""
    page = paginate(services.assessment_listing(g.user, now, search=chosen["q"], site=chosen["site"],
                                                timepoint=chosen["timepoint"], status=chosen["status"],
                                                arm=chosen["arm"]),
                    page_number(request.args.get("page")))
    rows = [(a.participant, a, a.effective_status(local_today(a.participant.site.timezone, now)))
            for a in page.items]
    sites = sorted({s.code for study in studies for s in study.sites})
    timepoints = sorted({t.code for study in studies for t in study.timepoints})
    arms = sorted({arm for study in studies for arm in (study.arms or ())})
    return render_template("worklist/index.html", studies=studies, rows=rows, form=ActionForm(), page=page,
                           chosen=chosen, sites=sites, timepoints=timepoints, arms=arms,
                           statuses=services.LIST_STATUSES)


@bp.get("/today")
@staff_required
def today():
    now = utcnow()
    studies = db.session.scalars(access.visible_studies(g.user)).all()
    panels = [services.dashboard(g.user, study, now, rows=TODAY_ROWS, listed=TODAY_LISTED) for study in studies]
    return render_template("worklist/today.html", panels=panels, buckets=services.BUCKETS,
                           bucket_labels=services.BUCKET_LABELS, listed=TODAY_LISTED, form=ActionForm())


@bp.get("/studies/<code>/dashboard")
@staff_required
def study(code: str):
    found = study_or_404(code)
    board = services.dashboard(g.user, found, utcnow())
    return render_template("worklist/study.html", study=found, board=board, buckets=services.BUCKETS,
                           bucket_labels=services.BUCKET_LABELS, bucket_help=services.BUCKET_HELP,
                           bucket_rows=services.BUCKET_ROWS, limited_to=access.granted_site_codes(g.user, found),
                           datasets=services.DOWNLOAD_DATASETS, formats=services.download_formats)


@bp.get("/studies/<code>/compliance")
@staff_required
def compliance(code: str):
    found = study_or_404(code)
    table = compliance_service.compliance_table(g.user, found, utcnow())
    sites = {s.code: s.name for s in found.sites}
    return render_template("worklist/compliance.html", study=found, rows=table.to_dict("records"),
                           sites=sites, reasons=tuple(NotDoneReason), reason_labels=NOT_DONE_LABELS,
                           limited_to=access.granted_site_codes(g.user, found),
                           datasets=services.DOWNLOAD_DATASETS, formats=services.download_formats)


@bp.get("/studies/<code>/download/<dataset>/<fmt>")
@staff_required
def download(code: str, dataset: str, fmt: str):
    found = study_or_404(code)
    if dataset not in services.DOWNLOAD_DATASETS or fmt not in services.download_formats(dataset):
        abort(404)
    export = prepare(found.code, dataset, fmt, Filters(sites=access.granted_site_codes(g.user, found)))
    # The body runs after this view has committed, in a read-only transaction of its own.
    body = stream(export, actor="user", user_id=g.user.id, via="staff", excel=fmt == "csv")
    response = Response(stream_with_context(body), mimetype=export.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@bp.get("/studies/<code>/download/define.xml")
@staff_required
def download_define(code: str):
    """define.xml for the study's CDISC data sets (audited as an export). Its variable lengths come from every
    site's data, so a site-limited grant is refused."""
    found = study_or_404(code)
    if access.granted_site_codes(g.user, found):
        abort(403)
    data = define(found.code, actor="user", user_id=g.user.id, via="staff")
    response = Response(data, mimetype=DEFINE_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{DEFINE_FILENAME}"'
    return response
