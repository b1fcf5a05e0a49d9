"""The demo study's alerts look like a real study's: a few a week, raised when the visit was submitted,
most acknowledged with an action within hours, a few left open for the triage page."""

from __future__ import annotations

from sqlalchemy import func, select

from pro_app.demo import seed_demo
from pro_app.extensions import db
from pro_app.models import Alert
from tests.support.http import login
from tests.support.kiosk import html


def test_demo_alerts_are_a_few_a_week_mostly_acknowledged_with_actions(app, client):
    with app.app_context():
        info = seed_demo(participants=20)
        alerts = db.session.scalars(select(Alert)).all()
        weeks = (max(a.created_at for a in alerts) - min(a.created_at for a in alerts)).days / 7
        per_week = len(alerts) / weeks
        assert 1 <= per_week <= 6, per_week
        done = [a for a in alerts if a.status == "acknowledged"]
        assert 0.6 * len(alerts) <= len(done) < len(alerts)
        assert all(a.action and a.acknowledged_at > a.created_at for a in done)
        assert len({a.action for a in done}) >= 3
        assert db.session.scalar(select(func.count()).select_from(Alert).where(Alert.kind == "threshold")) == 0
        open_visits = {a.assessment_id for a in alerts if a.status == "open"}
    login(client, info.email, info.password)
    page = html(client.get("/staff/alerts"))
    assert 1 <= len(open_visits) <= 20 and page.count('data-testid="acknowledge-visit"') == len(open_visits)
