"""The migration tests' app: on an empty database, nothing created (the tests run the migrations)."""

from __future__ import annotations

import uuid

import pytest

from pro_app import create_app
from pro_app.extensions import db
from pro_app.settings import Settings


@pytest.fixture
def fresh_app(tmp_path, empty_database_url):
    """An app on an empty database (nothing created yet: the tests run the migrations themselves)."""
    settings = Settings.from_env(tmp_path / "instance", environ={}, database_url=empty_database_url, testing=True,
                                 secret_key="test-only-" + uuid.uuid4().hex)
    app = create_app(settings)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
