"""Databases for tests: SQLite files, or throw-away PostgreSQL databases when PRO_APP_TEST_POSTGRES_URL is
set (CI sets it for the second run of the suite)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("PRO_APP_TEST_POSTGRES_URL")
ON_POSTGRES = bool(POSTGRES_URL)


def _postgres_admin() -> str:
    return make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for as long as the block runs (dropped after it)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_postgres_admin(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_postgres_admin(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def own_database(folder: Path) -> Iterator[str]:
    """A database no other test touches: a SQLite file in `folder`, or a throw-away PostgreSQL database. The
    conftest's `app` fixture empties the shared test database after every test, so module-scoped data cannot
    live there."""
    if not POSTGRES_URL:
        yield f"sqlite:///{folder / 'site.sqlite3'}"
        return
    with postgres_database("pro_app_own") as url:
        yield url
