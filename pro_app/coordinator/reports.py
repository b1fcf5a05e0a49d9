"""Staff routes: a participant's report (every scale over time, change from baseline, flags, PRO-CTCAE
composite grades) and its charts, each served as its own SVG image (the CSP keeps inline styles out of pages)."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import reports
from ..extensions import db
from ..instruments import get_registry
from ..models import Assessment, Timepoint
from .auth import staff_required
from .blueprint import bp
from .lookups import participant_or_404

CHART_TITLES = {
    "qlq_c30-functioning": _l("QLQ-C30: global health status and functioning (higher is better)"),
    "qlq_c30-symptoms": _l("QLQ-C30: symptoms (higher is worse)"),
    "qlq_br45-functioning": _l("QLQ-BR45: functioning (higher is better)"),
    "qlq_br45-symptoms": _l("QLQ-BR45: symptoms (higher is worse)"),
    "pro_ctcae": _l("PRO-CTCAE: composite grade per symptom (0 to 3)"),
}
#: The SVG image's own policy: it holds no script and loads nothing; matplotlib writes style attributes.
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"




def _lang() -> str:
    return str(get_locale() or "en")


@bp.get("/participants/<int:participant_id>/report")
@staff_required
def participant_report(participant_id: int):
    participant = participant_or_404(participant_id)
    frame = reports.scores_frame(participant)
    table = reports.scale_table(participant, frame)
    composites = reports.composite_table(participant, frame)
    registry = get_registry()
    assessments = db.session.scalars(
        select(Assessment).join(Timepoint).where(Assessment.participant_id == participant.id)
        .order_by(Timepoint.position)).all()
    groups = []
    for instrument_id in reports.QOL_INSTRUMENTS:
        part = table[table["instrument_id"] == instrument_id]
        if part.empty:
            continue
        instrument = registry.get(instrument_id)
        scales = []
        for scale in instrument.scales:
            rows = part[part["scale_code"] == scale.code]
            if not rows.empty:
                scales.append((scale, rows.to_dict("records")))
        groups.append((instrument, scales))
    composite_rows = []
    if not composites.empty:
        ctcae = registry.get("pro_ctcae")
        labels = reports.timepoint_labels(frame[frame["instrument_id"] == "pro_ctcae"])
        for code, values in composites.iterrows():
            composite_rows.append((ctcae.scale(code), [values[t] for t in labels]))
        composite_columns = list(labels.values())
    else:
        composite_columns = []
    charts = [(c.name, CHART_TITLES[c.name]) for c in reports.available_charts(frame)]
    page = render_template(
        "coordinator/reports/participant.html", participant=participant, assessments=assessments,
        groups=groups, composite_rows=composite_rows, composite_columns=composite_columns, charts=charts,
        meaningful=reports.MEANINGFUL_CHANGE, baseline=reports.baseline_position(participant))
    db.session.commit()
    return page


@bp.get("/participants/<int:participant_id>/charts/<name>.svg")
@staff_required
def participant_chart(participant_id: int, name: str):
    participant = participant_or_404(participant_id)
    chart = reports.CHARTS_BY_NAME.get(name)
    if chart is None:
        abort(404)
    frame = reports.scores_frame(participant)
    db.session.commit()
    if chart not in reports.available_charts(frame):
        abort(404)
    y_label = _l("Composite grade") if chart.instrument == "pro_ctcae" else _l("Score (0 to 100)")
    svg = reports.chart_svg(chart, frame, lang=_lang(), title=str(CHART_TITLES[name]), y_label=str(y_label))
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = CHART_CSP
    return response
