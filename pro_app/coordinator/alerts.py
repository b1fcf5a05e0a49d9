"""Alerts: open ones by urgency with the answers that raised them, acknowledged ones apart; acknowledging
with a note (coordinators and admins; audited)."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from .. import access, worklist
from .. import alerts as service
from ..extensions import db
from ..i18n import ALERT_KIND_LABELS
from .auth import staff_required
from .blueprint import bp
from .lookups import study_or_404
from .navigation import register

register("coordinator.alerts_index", _l("Alerts"), order=30)

#: Acknowledged alerts shown (most recent first); the audit trail and the database keep them all.
ACKNOWLEDGED_SHOWN = 200


class AcknowledgeForm(FlaskForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=service.NOTE_MAX)],
                         description=_l("For example: called the patient, seen in clinic today."))


def _lang() -> str:
    return str(get_locale() or "en")


@bp.get("/alerts")
@staff_required
def alerts_index():
    """Every visible study with its count of open alerts; one study goes straight to its list."""
    studies = db.session.scalars(access.visible_studies(g.user)).all()
    if len(studies) == 1:
        db.session.commit()
        return redirect(url_for(".alerts", code=studies[0].code))
    counts = [(study, worklist.open_alert_count(g.user, study)) for study in studies]
    db.session.commit()
    return render_template("coordinator/alerts/index.html", counts=counts)


@bp.get("/studies/<code>/alerts")
@staff_required
def alerts(code: str):
    study = study_or_404(code)
    open_rows = service.list_alerts(g.user, study, "open", _lang())
    done_rows = service.list_alerts(g.user, study, "acknowledged", _lang(), limit=ACKNOWLEDGED_SHOWN)
    db.session.commit()
    response = current_app.make_response(render_template(
        "coordinator/alerts/list.html", study=study, open_rows=open_rows, done_rows=done_rows,
        can_acknowledge=g.user.role in service.ACKNOWLEDGE_ROLES, form=AcknowledgeForm(formdata=None),
        kind_labels=ALERT_KIND_LABELS, urgency_labels=service.URGENCY_LABELS, shown=ACKNOWLEDGED_SHOWN))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/alerts/<int:alert_id>/acknowledge")
@staff_required
def alert_acknowledge(alert_id: int):
    if g.user.role not in service.ACKNOWLEDGE_ROLES:
        abort(403)
    alert = service.get_alert(g.user, alert_id)
    if alert is None:
        db.session.commit()
        abort(404)
    form = AcknowledgeForm()
    if not form.validate():
        db.session.commit()
        abort(400)
    code = alert.assessment.participant.study.code
    service.acknowledge(g.user, alert, form.note.data)
    db.session.commit()
    return redirect(url_for(".alerts", code=code) + f"#alert-{alert_id}")
