"""Routes: a participant's report (every scale over time, change from baseline, flags, grades such as the
PRO-CTCAE composites) and its charts, each served as its own SVG image (the CSP keeps inline styles out of pages)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, render_template
from flask_babel import lazy_gettext as _l

from .. import audit
from ..assessments.schedule import site_today
from ..clock import utcnow
from ..i18n import current_language
from ..results import svg
from ..web.guards import staff_required
from ..web.lookups import participant_or_404
from ..worklist.services import participant_assessments
from . import charts, services

bp = Blueprint("reports", __name__, url_prefix="/staff")

#: The SVG image's own policy: it holds no script and loads nothing; matplotlib writes style attributes.
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


@bp.get("/participants/<int:participant_id>/report")
@staff_required
def participant(participant_id: int):
    found = participant_or_404(participant_id)
    audit.record_read("read.report", "participant", found.id, user_id=g.user.id, study_id=found.study_id)
    today = site_today(found, utcnow())
    report = services.report(found, today)
    lang = current_language()
    # grades are drawn as a heat map on the page; scores as line charts (images)
    heat_maps = {s.instrument.id: heat_map(found, s.grades, lang, report.timeline) for s in report.sections
                 if s.grades}
    line_charts = {s.instrument.id: [(c.name, c.group.title.get(lang)) for c in s.charts
                                     if not charts.is_grade_chart(c)] for s in report.sections}
    return render_template(
        "reports/participant.html", participant=found, assessments=participant_assessments(found),
        sections=report.sections, line_charts=line_charts, heat_maps=heat_maps,
        meaningful=services.MEANINGFUL_CHANGE, baseline=services.baseline_position(found))


def heat_map(participant, grade: services.GradeGroup, lang: str, axis):
    """The instrument's grades, symptom by timepoint, every timepoint of the schedule that asks the instrument
    in place (blank where there is no grade: not done, missed, not yet due), each with its day from its anchor
    and marked when not done or missed."""
    asked = [t for t in participant.study.timepoints if grade.instrument.id in (t.instruments or [])]
    columns = [t.label for t in asked]
    by_code = axis.set_index("timepoint")
    notes = [services.axis_notes(by_code.loc[t.code]) for t in asked]
    rows, values = [], []
    for scale, graded in grade.rows:
        by_label = dict(zip(grade.columns, graded, strict=True))
        rows.append(scale.name.get(lang))
        values.append([by_label.get(label) for label in columns])
    title = str(_l("%(instrument)s: grades over time", instrument=grade.instrument.title.get(lang)))
    description = str(_l("Grade per symptom (rows) and timepoint (columns), as colour and number, from 0 (none) to "
                         "3 (severe); a hatched cell with a dash has no grade. The table below gives the same grades."))
    # Translators: names of the PRO-CTCAE composite grades 0 to 3 in the heat map's legend
    legend = [str(_l("none")), str(_l("mild")), str(_l("moderate")), str(_l("severe"))]
    return svg.heat_map(f"heat-{grade.instrument.id}", title, description, rows, columns, values, legend,
                        str(_l("no grade")), notes)


@bp.get("/participants/<int:participant_id>/charts/<name>.svg")
@staff_required
def chart(participant_id: int, name: str):
    found = participant_or_404(participant_id)
    wanted = services.chart_named(name)
    if wanted is None:
        abort(404)
    frame = services.scores_frame(found)
    if wanted not in services.available_charts(frame):
        abort(404)
    low, high = charts.y_range(wanted)
    y_label = _l("Composite grade") if charts.is_grade_chart(wanted) else _l(
        "Score (%(low)s to %(high)s)", low=f"{low:g}", high=f"{high:g}")
    lang = current_language()
    timeline = services.timeline(found, site_today(found, utcnow()))
    axis = services.instrument_axis(found, wanted.instrument, frame, timeline)
    notes = [services.axis_notes(row) for row in axis.to_dict("records")]
    svg = charts.chart_svg(wanted, frame, axis, lang=lang, title=wanted.group.title.get(lang), y_label=str(y_label),
                           x_label=str(_l("Days from the anchor date")), notes=notes)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = CHART_CSP
    return response
