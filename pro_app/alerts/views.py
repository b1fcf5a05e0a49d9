"""Routes: open alerts by urgency with the answers that raised them, acknowledged ones apart; acknowledging
with a note (coordinators and admins; audited)."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from .. import access, audit
from ..access import EDITORS
from ..extensions import db
from ..i18n import current_language
from ..vocabulary import ALERT_KIND_LABELS, URGENCY_LABELS, AlertStatus
from ..web import navigation
from ..web.guards import roles_required, staff_required
from ..web.lookups import study_or_404
from . import services
from .forms import AcknowledgeForm

bp = Blueprint("alerts", __name__, url_prefix="/staff")
navigation.register("alerts.index", _l("Alerts"), order=30)

#: Acknowledged alerts shown (most recent first); the audit trail and the database keep them all.
ACKNOWLEDGED_SHOWN = 200


@bp.get("/alerts")
@staff_required
def index():
    """Every visible study with its count of open alerts; one study goes straight to its list."""
    studies = db.session.scalars(access.visible_studies(g.user)).all()
    if len(studies) == 1:
        return redirect(url_for(".study", code=studies[0].code))
    counts = [(study, services.open_alert_count(g.user, study)) for study in studies]
    return render_template("alerts/index.html", counts=counts)


@bp.get("/studies/<code>/alerts")
@staff_required
def study(code: str):
    found = study_or_404(code)
    audit.record_read("read.alerts", "study", found.id, user_id=g.user.id, study_id=found.id)
    lang = current_language()
    open_rows = services.list_alerts(g.user, found, AlertStatus.OPEN, lang)
    done_rows = services.list_alerts(g.user, found, AlertStatus.ACKNOWLEDGED, lang, limit=ACKNOWLEDGED_SHOWN)
    return render_template(
        "alerts/list.html", study=found, open_rows=open_rows, done_rows=done_rows,
        open_groups=services.group_by_visit(open_rows),
        can_acknowledge=g.user.role in EDITORS, form=AcknowledgeForm(formdata=None),
        kind_labels=ALERT_KIND_LABELS, urgency_labels=URGENCY_LABELS, shown=ACKNOWLEDGED_SHOWN)


@bp.post("/alerts/<int:alert_id>/acknowledge")
@roles_required(EDITORS)
def acknowledge(alert_id: int):
    alert = services.get_alert(g.user, alert_id)
    if alert is None:
        abort(404)
    form = AcknowledgeForm()
    if not form.validate():
        abort(400)
    code = alert.assessment.participant.study.code
    services.acknowledge(g.user, alert, form.note.data)
    return redirect(url_for(".study", code=code) + f"#alert-{alert_id}")


@bp.post("/assessments/<int:assessment_id>/alerts/acknowledge")
@roles_required(EDITORS)
def acknowledge_visit(assessment_id: int):
    """Every open alert of one visit at once, with one note."""
    alerts = services.open_alerts_of_visit(g.user, assessment_id)
    if not alerts:
        abort(404)
    form = AcknowledgeForm()
    if not form.validate():
        abort(400)
    code = alerts[0].assessment.participant.study.code
    services.acknowledge_visit(g.user, alerts, form.note.data)
    return redirect(url_for(".study", code=code) + "#open-alerts")
