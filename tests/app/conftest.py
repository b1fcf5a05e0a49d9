"""Fixtures for the application-level tests: fresh databases for migrations, isolation from Alembic's logging.

Running migrations executes `pro_app/migrations/env.py`, which reconfigures logging (see support.py); the
autouse fixture puts it back after each test, so these tests do not change what other tests see.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from .support import preserved_logging

POSTGRES_URL = os.environ.get("PRO_APP_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True)
def _restore_logging():
    with preserved_logging():
        yield


def _postgres_admin_url() -> str:
    return make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """The URL of a brand-new, empty database: a SQLite file, or a throw-away PostgreSQL database
    (only when PRO_APP_TEST_POSTGRES_URL is set)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PRO_APP_TEST_POSTGRES_URL is not set")
    name = f"pro_app_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_postgres_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_postgres_admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
