"""The migrations: from an empty database the head builds exactly the schema of the models, goes back to
nothing, and comes up again; re-running the upgrade on a database with data changes nothing.

Each test runs on a fresh SQLite file and, when PRO_APP_TEST_POSTGRES_URL is set, on a throw-away
PostgreSQL database.
"""

from __future__ import annotations

import logging
import warnings
from datetime import date

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

import pro_app.errors
from pro_app import create_app
from pro_app.extensions import db
from pro_app.models import Participant, Site, Study, Timepoint
from pro_app.settings import Settings

ALEMBIC_TABLE = "alembic_version"
MODEL_TABLES = set(db.metadata.tables)


def tables() -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def differences() -> list:
    """What Alembic's autogenerate would write to bring the database to the models (empty: nothing)."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def current_revision() -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(app) -> str:
    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def test_the_migrations_form_one_line_and_every_revision_can_be_undone(tmp_path):
    settings = Settings.from_env(tmp_path / "instance", environ={}, testing=True, secret_key="unused-" + "x" * 32)
    app = create_app(settings)
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        assert len(script.get_heads()) == 1
        assert len(script.get_bases()) == 1
        for revision in script.walk_revisions():
            assert callable(getattr(revision.module, "downgrade", None)), revision.revision


def test_upgrade_on_an_empty_database_builds_exactly_the_models(fresh_app):
    with fresh_app.app_context():
        assert tables() == set()
        flask_migrate.upgrade()
        assert tables() == MODEL_TABLES | {ALEMBIC_TABLE}
        assert current_revision() == head_revision(fresh_app)
        assert differences() == []


def test_downgrade_to_base_removes_every_table_and_upgrade_works_again(fresh_app):
    with fresh_app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert tables() <= {ALEMBIC_TABLE}  # Alembic's own bookkeeping table may stay, empty
        assert current_revision() is None
        flask_migrate.upgrade()
        assert tables() == MODEL_TABLES | {ALEMBIC_TABLE}
        assert current_revision() == head_revision(fresh_app)
        assert differences() == []


def test_upgrading_again_at_head_is_a_no_op_and_keeps_the_data(fresh_app):
    with fresh_app.app_context():
        flask_migrate.upgrade()
        study = Study(code="NCT0000042", title="Kept across upgrades", selections={"pro_ctcae": [17, 9]})
        site = Site(study=study, code="BCN", name="Barcelona", timezone="Europe/Madrid")
        timepoint = Timepoint(study=study, code="baseline", label="Baseline", position=1, target_day=0,
                              window_before=14, window_after=3, instruments=["qlq_c30"])
        participant = Participant(study=study, site=site, study_code="P-001", language="es",
                                  anchor_date=date(2026, 3, 2))
        db.session.add_all([study, site, timepoint, participant])
        db.session.commit()
        db.session.remove()

        flask_migrate.upgrade()
        flask_migrate.upgrade()

        assert current_revision() == head_revision(fresh_app)
        assert differences() == []
        kept = db.session.scalar(select(Study).where(Study.code == "NCT0000042"))
        assert kept.title == "Kept across upgrades"
        assert kept.selections == {"pro_ctcae": [17, 9]}
        assert [(s.code, s.timezone) for s in kept.sites] == [("BCN", "Europe/Madrid")]
        assert [t.instruments for t in kept.timepoints] == [["qlq_c30"]]
        (person,) = db.session.scalars(select(Participant)).all()
        assert (person.study_code, person.language, person.anchor_date) == ("P-001", "es", date(2026, 3, 2))


def test_upgrade_emits_no_deprecation_warning(fresh_app):
    with fresh_app.app_context(), warnings.catch_warnings():
        warnings.simplefilter("error")
        flask_migrate.upgrade()
        assert tables() == MODEL_TABLES | {ALEMBIC_TABLE}


def test_running_the_migrations_keeps_the_application_loggers_working(fresh_app):
    errors_log = logging.getLogger(pro_app.errors.__name__)  # exists before the upgrade, as in `pro-app serve`
    assert not errors_log.disabled
    with fresh_app.app_context():
        flask_migrate.upgrade()
    assert not errors_log.disabled


def test_repeats_and_unscheduled_assessments_go_up_and_down_with_data(fresh_app):
    """b8e2d4f6a1c3: existing assessments become the first occurrence of their timepoint; at head a participant
    can have several occurrences of a timepoint and unscheduled assessments (no timepoint), which the downgrade
    refuses to drop; without them it goes down and the one-per-timepoint rule is back."""
    with fresh_app.app_context():
        flask_migrate.upgrade(revision="f3a7c2e9b5d1")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO study (id, code, title, anchor_event, selections, arms, thresholds, "
                                 "alert_digest, double_entry, created_at) VALUES (1, 'S', 'S', 'Day 0', '{}', '[]', "
                                 "'{}', false, false, '2026-03-02 09:30:00')"))
            conn.execute(sa.text("INSERT INTO site (id, study_id, code, name, timezone) "
                                 "VALUES (1, 1, 'BCN', 'Barcelona', 'Europe/Madrid')"))
            conn.execute(sa.text("INSERT INTO timepoint (id, study_id, code, label, position, anchor, target_day, "
                                 "window_before, window_after, instruments) VALUES (1, 1, 'q4w', 'Every 4 weeks', 1, "
                                 "'treatment_start', 0, 0, 3, '[\"qlq_c30\"]')"))
            conn.execute(sa.text("INSERT INTO participant (id, study_id, site_id, study_code, language, anchor_date, "
                                 "status, follow_up_continues, created_at) VALUES (1, 1, 1, 'P-1', 'en', "
                                 "'2026-03-02', 'active', false, '2026-03-02 09:30:00')"))
            conn.execute(sa.text("INSERT INTO assessment (id, participant_id, timepoint_id, target_date, window_start, "
                                 "window_end, status, early) VALUES (1, 1, 1, '2026-03-02', '2026-03-02', "
                                 "'2026-03-05', 'scheduled', false)"))
        flask_migrate.upgrade()
        with db.engine.begin() as conn:
            assert conn.execute(sa.text("SELECT occurrence, visit_after FROM assessment")).all() == [(1, None)]
            conn.execute(sa.text("UPDATE timepoint SET repeat_every = 4, repeat_unit = 'weeks', repeat_count = 3"))
            conn.execute(sa.text("INSERT INTO assessment (id, participant_id, timepoint_id, occurrence, target_date, "
                                 "window_start, window_end, status, early) VALUES (2, 1, 1, 2, '2026-03-30', "
                                 "'2026-03-30', '2026-04-02', 'scheduled', false)"))
            conn.execute(sa.text("INSERT INTO assessment (id, participant_id, timepoint_id, occurrence, visit_after, "
                                 "unscheduled_reason, target_date, window_start, window_end, status, early) VALUES "
                                 "(3, 1, NULL, 1, 101, 'Unplanned visit', '2026-03-10', '2026-03-10', '2026-03-10', "
                                 "'scheduled', false)"))
        with db.engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):  # a second occurrence 2
            conn.execute(sa.text("INSERT INTO assessment (participant_id, timepoint_id, occurrence, target_date, "
                                 "window_start, window_end, status, early) VALUES (1, 1, 2, '2026-03-30', "
                                 "'2026-03-30', '2026-04-02', 'scheduled', false)"))
        with db.engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):  # no timepoint and no reason
            conn.execute(sa.text("INSERT INTO assessment (participant_id, timepoint_id, occurrence, target_date, "
                                 "window_start, window_end, status, early) VALUES (1, NULL, 2, '2026-03-30', "
                                 "'2026-03-30', '2026-04-02', 'scheduled', false)"))
        db.session.remove()
        with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's RuntimeError and exits 1
            flask_migrate.downgrade(revision="f3a7c2e9b5d1")
        # PostgreSQL rolls the whole downgrade back; SQLite's DDL is not transactional, so the migrations after
        # b8e2d4f6a1c3 stay undone when it refuses
        assert current_revision() == (head_revision(fresh_app) if db.engine.dialect.name == "postgresql"
                                      else "b8e2d4f6a1c3")
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM assessment WHERE id IN (2, 3)"))
        flask_migrate.downgrade(revision="f3a7c2e9b5d1")
        assert current_revision() == "f3a7c2e9b5d1"
        with db.engine.begin() as conn:
            assert conn.execute(sa.text("SELECT id, timepoint_id FROM assessment")).all() == [(1, 1)]
            assert "repeat_every" not in {c["name"] for c in inspect(conn).get_columns("timepoint")}
        with db.engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):  # one per timepoint again
            conn.execute(sa.text("INSERT INTO assessment (participant_id, timepoint_id, target_date, window_start, "
                                 "window_end, status, early) VALUES (1, 1, '2026-03-30', '2026-03-30', "
                                 "'2026-04-02', 'scheduled', false)"))
