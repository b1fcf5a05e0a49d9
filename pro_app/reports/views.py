"""Routes: a participant's report (every scale over time, change from baseline, flags, PRO-CTCAE composite
grades) and its charts, each served as its own SVG image (the CSP keeps inline styles out of pages)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_babel import lazy_gettext as _l

from ..i18n import current_language
from ..web.guards import staff_required
from ..web.lookups import participant_or_404
from ..worklist.services import participant_assessments
from . import charts, services

bp = Blueprint("reports", __name__, url_prefix="/staff")

CHART_TITLES = {
    "qlq_c30-functioning": _l("QLQ-C30: global health status and functioning (higher is better)"),
    "qlq_c30-symptoms": _l("QLQ-C30: symptoms (higher is worse)"),
    "qlq_br45-functioning": _l("QLQ-BR45: functioning (higher is better)"),
    "qlq_br45-symptoms": _l("QLQ-BR45: symptoms (higher is worse)"),
    "pro_ctcae": _l("PRO-CTCAE: composite grade per symptom (0 to 3)"),
}
#: The SVG image's own policy: it holds no script and loads nothing; matplotlib writes style attributes.
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


@bp.get("/participants/<int:participant_id>/report")
@staff_required
def participant(participant_id: int):
    found = participant_or_404(participant_id)
    report = services.report(found)
    titles = [(c.name, CHART_TITLES[c.name]) for c in report.charts]
    return render_template(
        "reports/participant.html", participant=found, assessments=participant_assessments(found),
        groups=report.groups, composite_rows=report.composite_rows, composite_columns=report.composite_columns,
        charts=titles, meaningful=services.MEANINGFUL_CHANGE, baseline=services.baseline_position(found))


@bp.get("/participants/<int:participant_id>/charts/<name>.svg")
@staff_required
def chart(participant_id: int, name: str):
    found = participant_or_404(participant_id)
    wanted = services.CHARTS_BY_NAME.get(name)
    if wanted is None:
        abort(404)
    frame = services.scores_frame(found)
    if wanted not in services.available_charts(frame):
        abort(404)
    y_label = _l("Composite grade") if wanted.instrument == "pro_ctcae" else _l("Score (0 to 100)")
    svg = charts.chart_svg(wanted, frame, lang=current_language(), title=str(CHART_TITLES[name]),
                           y_label=str(y_label))
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = CHART_CSP
    return response
