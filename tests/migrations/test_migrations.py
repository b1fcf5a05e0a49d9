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
