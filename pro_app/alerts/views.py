"""Routes: the triage page (alerts grouped per visit, filtered, by urgency then age, paged; time to
acknowledge per study), and acknowledging one alert, one visit or several visits at once with a note and
an action taken (coordinators and admins; audited)."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from .. import access, audit
from ..access import EDITORS
from ..clock import utcnow
from ..extensions import db
from ..i18n import current_language
from ..models import Alert, Study
from ..vocabulary import ALERT_KIND_LABELS, URGENCY_LABELS
from ..web import navigation
from ..web.guards import back_on_expired_token, roles_required, staff_required
from ..web.lookups import study_or_404
from ..web.paging import page_number
from . import services, triage
from .forms import AcknowledgeForm, visit_ids

bp = Blueprint("alerts", __name__, url_prefix="/staff")
navigation.register("alerts.index", _l("Alerts"), order=30, count=triage.open_count)

STATUS_LABELS = {"open": _l("Open"), "acknowledged": _l("Acknowledged"), "resolved": _l("Resolved by a correction")}
NOTIFICATION_LABELS = {"pending": _l("waiting to be sent"), "sent": _l("sent"), "failed": _l("failed, will be retried"),
                       "gave_up": _l("failed, no more retries")}
AGE_LABELS = {"day": _l("Raised in the last 24 hours"), "week": _l("1 to 7 days old"),
              "older": _l("Older than 7 days")}


def _triage(study: Study | None):
    filters = triage.Filters.parse(request.args, study=study.code if study else "")
    now = utcnow()
    lang = current_language()
    page = triage.visit_page(g.user, filters, page_number(request.args.get("page")), now, lang)
    studies = db.session.scalars(access.visible_studies(g.user)).all()
    chosen = [s for s in studies if s.code == filters.study]
    sites = sorted({s.code for st in (chosen or studies) for s in access.granted_sites(g.user, st)})
    timepoints = sorted({t.code for st in (chosen or studies) for t in st.timepoints})
    arms = sorted({arm for st in (chosen or studies) for arm in (st.arms or ())})
    actions = {s.code: [(a, services.action_label(a)) for a in services.study_actions(s)] for s in studies}
    return render_template(
        "alerts/triage.html", study=study, studies=studies, sites=sites, timepoints=timepoints, arms=arms,
        filters=filters, page=page, now=now,
        times=triage.ack_times(g.user, filters, now), actions=actions,
        can_acknowledge=g.user.role in EDITORS, form=AcknowledgeForm(formdata=None),
        kind_labels=ALERT_KIND_LABELS, urgency_labels=URGENCY_LABELS, status_labels=STATUS_LABELS,
        age_labels=AGE_LABELS, notification_labels=NOTIFICATION_LABELS, action_label=services.action_label,
        format_datetime=lambda value: format_datetime(value, "short"), here=request.full_path)


@bp.get("/alerts")
@staff_required
def index():
    """The triage page: every visible study's alerts, one card per visit."""
    return _triage(None)


@bp.get("/studies/<code>/alerts")
@staff_required
def study(code: str):
    found = study_or_404(code)
    audit.record_read("read.alerts", "study", found.id, user_id=g.user.id, study_id=found.id)
    return _triage(found)


def _checked_form() -> AcknowledgeForm:
    form = AcknowledgeForm()
    if not form.validate():
        abort(400)
    return form


def _check_action(action: str | None, alerts: list[Alert]) -> None:
    """An action must be one of each alert's study's actions (a crafted one is a 400, nothing changed)."""
    if not action:
        return
    for study in {a.assessment.participant.study for a in alerts}:
        if action not in services.study_actions(study):
            abort(400)


def _back(form: AcknowledgeForm, fallback: str):
    return redirect(navigation.return_to(form.next.data) or fallback)


def _alerts_page(**_) -> str:
    """Where an acknowledge form without its `next` field goes back to (the forms send the page they sit on)."""
    return url_for(".index")


@bp.post("/alerts/<int:alert_id>/acknowledge")
@back_on_expired_token(_alerts_page)
@roles_required(EDITORS)
def acknowledge(alert_id: int):
    alert = services.get_alert(g.user, alert_id)
    if alert is None:
        abort(404)
    form = _checked_form()
    _check_action(form.action.data, [alert])
    code = alert.assessment.participant.study.code
    services.acknowledge(g.user, alert, form.note.data, form.action.data)
    return _back(form, url_for(".study", code=code) + f"#alert-{alert_id}")


@bp.post("/assessments/<int:assessment_id>/alerts/acknowledge")
@back_on_expired_token(_alerts_page)
@roles_required(EDITORS)
def acknowledge_visit(assessment_id: int):
    """Every open alert of one visit at once, with one note and action."""
    alerts = services.open_alerts_of_visit(g.user, assessment_id)
    if not alerts:
        abort(404)
    form = _checked_form()
    _check_action(form.action.data, alerts)
    code = alerts[0].assessment.participant.study.code
    services.acknowledge_visit(g.user, alerts, form.note.data, form.action.data)
    return _back(form, url_for(".study", code=code) + "#open-alerts")


@bp.post("/alerts/acknowledge")
@back_on_expired_token(_alerts_page)
@roles_required(EDITORS)
def acknowledge_visits():
    """The checked visits' open alerts at once, with one note and action (each alert audited)."""
    form = _checked_form()
    ids = visit_ids(request.form.getlist("visit"))
    if ids is None:
        abort(400)
    alerts = services.open_alerts_of_visits(g.user, ids)
    if not alerts:
        abort(404 if ids else 400)
    _check_action(form.action.data, alerts)
    for alert in alerts:
        services.acknowledge(g.user, alert, form.note.data, form.action.data)
    return _back(form, url_for(".index"))
