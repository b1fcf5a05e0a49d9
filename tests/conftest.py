"""Fixtures that read like the clinic: an app per test, a study, participants, a logged-in coordinator.

The database is a fresh SQLite file per test, or, when PRO_APP_TEST_POSTGRES_URL is set (CI does),
a PostgreSQL database created for this test run and emptied after each test.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from pro_app import clock as app_clock
from pro_app import create_app
from pro_app.assessments.schedule import create_assessments
from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.models import Participant, Site, Study, Timepoint
from pro_app.security import passwords
from pro_app.settings import Settings
from pro_app.users.services import create_user
from tests.support import database
from tests.support.cli import preserved_logging
from tests.support.clock import Clock
from tests.support.database import ON_POSTGRES
from tests.support.http import PASSWORD, login
from tests.support.passwords import QUICK_HASHER


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """Staff log in a lot: see tests/support/passwords.py."""
    monkeypatch.setattr(passwords, "_hasher", QUICK_HASHER)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The app's clock, to move forward: `clock.ahead(900)`."""
    moved = Clock()
    monkeypatch.setattr(app_clock, "source", moved.now)
    return moved


@pytest.fixture(autouse=True)
def _restore_logging():
    """Running migrations executes env.py, which reconfigures logging: put it back after every test."""
    with preserved_logging():
        yield


@pytest.fixture(scope="session")
def postgres_database():
    """A throw-away PostgreSQL database for the whole run (None on SQLite)."""
    if not ON_POSTGRES:
        yield None
        return
    with database.postgres_database("pro_app_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """The URL of a brand-new, empty database: a SQLite file, or a throw-away PostgreSQL database
    (only when PRO_APP_TEST_POSTGRES_URL is set)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    if not ON_POSTGRES:
        pytest.skip("PRO_APP_TEST_POSTGRES_URL is not set")
    with database.postgres_database("pro_app_mig") as url:
        yield url


@pytest.fixture
def settings(tmp_path, postgres_database) -> Settings:
    database_url = postgres_database or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return Settings.from_env(tmp_path / "instance", environ={}, database_url=database_url, testing=True,
                             secret_key="test-only-" + uuid.uuid4().hex)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


# Factories build data in a short app context of their own and return plain snapshots (ids and codes):
# a test that held an app context while making requests would share `g` and the database session
# with every request, and hide bugs that only show in production.


@pytest.fixture
def create_study(app):
    """A study like the demo's: two sites, four timepoints (C30 + BR45 + PRO-CTCAE at each)."""

    def make(code: str = "NCT0000001", terms: list[int] | None = None,
             instruments: list[str] | None = None) -> SimpleNamespace:
        with app.app_context():
            study = Study(code=code, title=f"Study {code}", selections={"pro_ctcae": terms or [17, 9, 1, 36, 53]},
                          anchor_event="First fraction of SBRT")
            db.session.add(study)
            db.session.add_all([Site(study=study, code="BCN", name="Barcelona", timezone="Europe/Madrid"),
                                Site(study=study, code="MIA", name="Miami", timezone="America/New_York")])
            for position, (tp, day, before, after) in enumerate(
                    [("baseline", 0, 14, 3), ("wk12", 84, 14, 14), ("wk24", 168, 14, 14), ("fu30", 198, 7, 14)], 1):
                db.session.add(Timepoint(study=study, code=tp, label=tp, position=position, target_day=day,
                                         window_before=before, window_after=after,
                                         instruments=instruments or ["qlq_c30", "qlq_br45", "pro_ctcae"]))
            db.session.commit()
            return SimpleNamespace(id=study.id, code=study.code)

    return make


@pytest.fixture
def create_participant(app):
    """A participant whose baseline window is open today (anchor date in 2 days, by default).
    Returns id, study_code and `assessments`: {timepoint code: assessment id}."""

    def make(study, code: str = "P-001", language: str = "en", anchor: date | None = None,
             site_code: str = "BCN") -> SimpleNamespace:
        with app.app_context():
            site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == site_code))
            participant = Participant(study_id=study.id, site=site, study_code=code, language=language,
                                      anchor_date=anchor or utcnow().date() + timedelta(days=2))
            db.session.add(participant)
            db.session.flush()
            created = create_assessments(participant)
            db.session.commit()
            return SimpleNamespace(id=participant.id, study_code=code,
                                   assessments={a.timepoint.code: a.id for a in created})

    return make


@pytest.fixture
def create_staff(app):
    def make(email: str = "coordinator@example.org", role: str = "coordinator", studies=()) -> SimpleNamespace:
        with app.app_context():
            user = create_user(email, role, PASSWORD, [s.code for s in studies])
            db.session.commit()
            return SimpleNamespace(id=user.id, email=user.email, role=role)

    return make


@pytest.fixture
def logged_in_coordinator(client, create_study, create_staff):
    """A coordinator of study NCT0000001, logged in on `client`; returns (user, study)."""
    study = create_study()
    user = create_staff(studies=[study])
    response = login(client, user.email)
    assert response.status_code == 302
    return user, study


@pytest.fixture
def c30():
    return get_instrument("qlq_c30")
