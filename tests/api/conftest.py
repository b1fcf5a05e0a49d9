"""API tests: quick password hashing (same algorithm and code path) and a seeded demo installation shared
by the read-only download tests, on a database of its own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Study
from pro_app.tokens import services as tokens
from pro_app.users.services import create_user
from tests.support.exports import demo_installation


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory):
    """The demo study (4 participants) and an analyst's live token for it (made by the service the staff
    page uses; the page itself is tested in test_api.py)."""
    with demo_installation(tmp_path_factory.mktemp("api-demo"), participants=4) as installation:
        app = installation.app
        with app.app_context():
            user = create_user("analyst@example.org", "analyst", "correct horse battery staple", ["DEMO"])
            study = db.session.scalar(select(Study).where(Study.code == "DEMO"))
            token, plain = tokens.create(user, "R on my laptop", [study.id], 30)
            db.session.commit()
            ids = SimpleNamespace(user=user.id, token=token.id, study=study.id)
        yield SimpleNamespace(app=app, settings=installation.settings, client=app.test_client(), token=plain,
                              ids=ids)
