"""The `pro-app` commands a site admin runs: `demo`, `user create`, `db upgrade`.

Each command runs in-process through click's CliRunner with DATABASE_URL and PRO_APP_INSTANCE_PATH pointing
into a temporary folder; the results are then checked through a fresh app on the same folder (the database
directly, or the web pages a coordinator and a patient would use).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, inspect, select

from pro_app import create_app
from pro_app.assessments.schedule import site_today
from pro_app.cli import main
from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.instruments import get_instrument, score
from pro_app.models import Assessment, ItemResponse, Participant, PatientCode, Score, Study, User
from pro_app.security import codes
from pro_app.security.passwords import verify_password
from pro_app.settings import Settings
from tests.support.cli import parse_demo_output, preserved_logging
from tests.support.http import csrf_token

NEW_PASSWORD = "a long enough pass phrase"
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Site:
    """A pro-app installation in a temporary folder."""

    folder: Path

    @property
    def env(self) -> dict[str, str | None]:
        return {
            "DATABASE_URL": f"sqlite:///{self.folder / 'pro_app.sqlite3'}",
            "PRO_APP_INSTANCE_PATH": str(self.folder / "instance"),
            "SECRET_KEY": None,
            "PRO_APP_INSTRUMENTS_DIR": None,
            "FLASK_APP": None,
            "FLASK_RUN_FROM_CLI": None,  # FlaskGroup sets it; CliRunner restores what is listed here
        }

    def run(self, *args: str, input: str | None = None) -> Result:
        with preserved_logging():
            return CliRunner().invoke(main, list(args), env=self.env, input=input)

    def app(self):
        environ = {k: v for k, v in self.env.items() if v is not None}
        return create_app(Settings.from_env(self.folder / "instance", environ=environ))


def new_site(folder: Path) -> Site:
    folder.mkdir(parents=True, exist_ok=True)
    return Site(folder)


def ok(result: Result) -> str:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result.output


def staff_login(app, email: str, password: str):
    client = app.test_client()
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    return client, client.post("/staff/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A site seeded once with `pro-app demo --participants 12` (tests that write use their own rows)."""
    site = new_site(tmp_path_factory.mktemp("demo-site"))
    output = parse_demo_output(ok(site.run("demo", "--participants", "12")))
    app = site.app()
    yield site, output, app
    with app.app_context():
        db.engine.dispose()


def test_db_upgrade_creates_the_schema_on_an_empty_database(tmp_path):
    site = new_site(tmp_path)
    ok(site.run("db", "upgrade"))
    app = site.app()
    with app.app_context(), db.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == set(db.metadata.tables) | {"alembic_version"}
    ok(site.run("db", "upgrade"))  # again: nothing to do


def test_demo_seeds_the_requested_number_of_participants_in_both_languages(demo):
    site, output, app = demo
    assert output.participants == 12
    with app.app_context():
        study = db.session.scalar(select(Study).where(Study.code == "DEMO"))
        participants = db.session.scalars(select(Participant).where(Participant.study_id == study.id)).all()
        assert len(participants) == 12
        assert {p.language for p in participants} == {"en", "es"}
        assert {p.site.code for p in participants} == {s.code for s in study.sites}
        assert [t.code for t in study.timepoints] == ["baseline", "wk12", "wk24", "fu30"]


def test_demo_assessments_cover_every_status(demo):
    """Completed, not done (with a reason), scheduled in the future, missed (still scheduled, window over)
    and open today: a coordinator sees every kind of row."""
    site, output, app = demo
    now = utcnow()
    seen: dict[str, int] = {}
    with app.app_context():
        for assessment in db.session.scalars(select(Assessment)).all():
            today = site_today(assessment.participant, now)
            status = assessment.effective_status(today)
            seen[status] = seen.get(status, 0) + 1
            if status == "scheduled":
                assert assessment.window_start > today
            if status == "missed":
                assert assessment.status == "scheduled" and assessment.window_end < today
            if status == "open":
                assert assessment.window_start <= today <= assessment.window_end
            if status == "not_done":
                assert assessment.not_done_reason
    assert {"completed", "not_done", "scheduled", "missed", "open"} <= set(seen), seen


def c30_answers(responses: list[ItemResponse]) -> pd.DataFrame:
    return pd.DataFrame([{r.item_id: float(r.value) if r.state == "answered" else math.nan for r in responses}])


def test_demo_completed_assessments_have_every_item_and_scores_that_recompute(demo):
    site, output, app = demo
    c30 = get_instrument("qlq_c30")
    with app.app_context():
        completed = db.session.scalars(select(Assessment).where(Assessment.status == "completed")).all()
        assert completed
        for assessment in completed:
            planned = {item for part in assessment.plan for item in part.items}
            assert {r.item_id for r in assessment.responses} == planned
            assert assessment.completed_at is not None
            responses = [r for r in assessment.responses if r.instrument_id == "qlq_c30"]
            expected = score(c30, c30_answers(responses))
            stored = {s.scale_code: s for s in assessment.scores if s.instrument_id == "qlq_c30"}
            assert set(stored) == set(c30.scale_codes)
            for code in c30.scale_codes:
                value = float(expected.values[code].iloc[0])
                row = stored[code]
                assert row.status == str(expected.status[code].iloc[0]), (assessment.id, code)
                if math.isnan(value):
                    assert row.value is None, (assessment.id, code)
                else:
                    assert row.value == pytest.approx(value, rel=1e-12, abs=1e-12), (assessment.id, code)
                assert row.instrument_version == c30.version
        # Assessments not completed have no scores.
        unscored = db.session.scalar(select(func.count()).select_from(Score).join(Assessment)
                                     .where(Assessment.status != "completed"))
        assert unscored == 0


def test_demo_coordinator_login_works_at_staff_login(demo):
    site, output, app = demo
    client, response = staff_login(app, output.email, output.password)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/today")
    dashboard = client.get("/staff/")
    assert dashboard.status_code == 200
    assert "DEMO-001" in dashboard.get_data(as_text=True)


def test_demo_patient_code_starts_an_assessment_at_the_kiosk(demo):
    site, output, app = demo
    with app.app_context():
        found = db.session.scalar(select(PatientCode).where(PatientCode.code_hash == codes.digest(output.patient_code)))
        assert found is not None and found.revoked_at is None
        assessment = db.session.get(Assessment, found.assessment_id)
        assert assessment.participant.study_code == output.patient
        assert assessment.effective_status(site_today(assessment.participant, utcnow())) == "open"
    client = app.test_client()
    token = csrf_token(client.get("/kiosk/").get_data(as_text=True))
    response = client.post("/kiosk/", data={"code": output.patient_code, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/kiosk/a")
    response = client.get("/kiosk/a")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/kiosk/a/intro/qlq_c30")
    assert client.get(response.headers["Location"]).status_code == 200


def snapshot() -> dict:
    """Everything the demo wrote about its participants, to tell whether a later run touched it."""
    return {
        "participants": sorted((p.id, p.study_code, p.language, p.anchor_date, p.site_id, p.status)
                               for p in db.session.scalars(select(Participant))),
        "assessments": sorted((a.id, a.participant_id, a.status, a.not_done_reason, a.started_at, a.completed_at)
                              for a in db.session.scalars(select(Assessment))),
        "responses": sorted((r.id, r.assessment_id, r.item_id, r.value, r.state, r.answered_at)
                            for r in db.session.scalars(select(ItemResponse))),
        "scores": sorted((s.id, s.assessment_id, s.scale_code, s.value, s.status)
                         for s in db.session.scalars(select(Score))),
    }


def test_demo_again_tops_up_without_touching_existing_participants_and_gives_a_new_password(tmp_path):
    site = new_site(tmp_path)
    first = parse_demo_output(ok(site.run("demo", "--participants", "12")))
    app = site.app()
    with app.app_context():
        before = snapshot()

    second = parse_demo_output(ok(site.run("demo", "--participants", "15")))

    assert second.participants == 15
    assert second.email == first.email and second.password != first.password
    with app.app_context():
        after = snapshot()
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 15
    for table, rows in before.items():
        assert [row for row in after[table] if row in rows] == rows, table  # still there, unchanged
    assert {p[1] for p in after["participants"]} - {p[1] for p in before["participants"]} == {
        "DEMO-013", "DEMO-014", "DEMO-015"}
    _, response = staff_login(app, second.email, second.password)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/today")
    with app.app_context():
        db.engine.dispose()


def grants_of(app, email: str) -> list[str]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return sorted(db.session.get(Study, g.study_id).code for g in user.grants)


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.org"


def test_user_create_with_password_on_stdin_stores_an_argon2id_hash(demo):
    site, _, app = demo
    email = unique_email("x")
    output = ok(site.run("user", "create", email, "--role", "coordinator", "--study", "DEMO", "--password-stdin",
                         input=NEW_PASSWORD + "\n"))
    assert email in output
    assert NEW_PASSWORD not in output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user.role == "coordinator" and user.active
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, NEW_PASSWORD)
    assert grants_of(app, email) == ["DEMO"]
    _, response = staff_login(app, email, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/today")


def test_user_create_takes_a_password_line_ended_the_windows_way(demo):
    """A real process: click's test runner would turn the CR LF into LF before the command saw it."""
    site, _, app = demo
    email = unique_email("crlf")
    env = {k: v for k, v in os.environ.items() if k not in site.env} | {
        k: v for k, v in site.env.items() if v is not None} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pro_app.cli", "user", "create", email, "--role", "analyst",
                           "--password-stdin"], input=(NEW_PASSWORD + "\r\n").encode(), env=env, cwd=ROOT,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    _, response = staff_login(app, email, NEW_PASSWORD)
    assert response.status_code == 302


def test_user_create_generate_prints_a_password_once_that_works(demo):
    site, _, app = demo
    email = unique_email("analyst")
    output = ok(site.run("user", "create", email, "--role", "analyst", "--generate"))
    password = output.split("password:", 1)[1].split()[0]
    assert len(password) >= 12
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert verify_password(user.password_hash, password)


def count_users(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User).where(User.email == email.lower()))


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["--role", "coordinator", "--study", "DEMO"], "short\n", "at least 12 characters"),
    (["--role", "superuser", "--study", "DEMO"], NEW_PASSWORD + "\n", "Invalid value for '--role'"),
    (["--role", "coordinator", "--study", "NOPE"], NEW_PASSWORD + "\n", "no study 'NOPE'"),
    (["--role", "coordinator"], "\n", "at least 12 characters"),
    # The policy of the admin's forms: guessable passwords, and ones the login form could never send.
    (["--role", "coordinator"], "password1234\n", "too easy to guess"),
    (["--role", "coordinator"], " " * 12 + "\n", "cannot be only spaces"),
    (["--role", "coordinator"], "a long pass phrase " * 11 + "\n", "at most 200 characters"),
    (["--role", "coordinator"], NEW_PASSWORD + "\tx\n", "control characters"),
])
def test_user_create_refuses_bad_input_with_a_clear_message(demo, args, stdin, message):
    site, _, app = demo
    email = unique_email("refused")
    result = site.run("user", "create", email, *args, "--password-stdin", input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert count_users(app, email) == 0


def test_user_create_refuses_a_duplicate_email_whatever_its_case(demo):
    site, _, app = demo
    email = unique_email("dup")
    ok(site.run("user", "create", email, "--role", "analyst", "--password-stdin", input=NEW_PASSWORD + "\n"))
    for again in (email, email.upper()):
        result = site.run("user", "create", again, "--role", "coordinator", "--password-stdin",
                          input="another long pass phrase\n")
        assert result.exit_code != 0
        assert "already exists" in result.output
    assert count_users(app, email) == 1
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user.role == "analyst" and verify_password(user.password_hash, NEW_PASSWORD)


def test_serve_ignores_flask_debug_so_error_pages_keep_their_security_headers(tmp_path, monkeypatch):
    import pro_app.cli_app

    served = {}
    monkeypatch.setattr(pro_app.cli_app, "waitress_serve", lambda app, **options: served.update(app=app))
    site = new_site(tmp_path / "site")
    with preserved_logging():
        result = CliRunner().invoke(main, ["serve"], env={**site.env, "FLASK_DEBUG": "1"})
    assert result.exit_code == 0, result.output
    assert "ignores FLASK_DEBUG" in result.output

    app = served["app"]
    assert app.debug is False

    @app.get("/probe-failure")
    def probe_failure():
        raise RuntimeError("a bug")

    response = app.test_client().get("/probe-failure")
    assert response.status_code == 500
    assert "a bug" not in response.get_data(as_text=True) and "Traceback" not in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
