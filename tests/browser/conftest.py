"""Real-browser fixtures: each test's app served by waitress on 127.0.0.1, driven by Debian's Chromium.

One browser for the whole run, a fresh context (cookies, storage, history) per test. A test that needs
other settings for its app (a short idle timeout) says so with `@pytest.mark.kiosk_settings(...)`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import waitress
from playwright.sync_api import sync_playwright
from waitress import wasyncore

from pro_app.extensions import db
from pro_app.models import Assessment
from pro_app.security import codes
from tests.support.browser import PORTRAIT, Kiosk

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "kiosk_settings(**changes): settings changes for this test's app, e.g. a short idle timeout")


@pytest.fixture
def settings(settings, request):
    # Taps are ignored for a short time after a patient page is shown; the helpers wait for it to pass, and
    # a short time keeps whole-assessment tests quick (the ghost-tap tests use the real default).
    marker = request.node.get_closest_marker("kiosk_settings")
    return settings.with_changes(**{"kiosk_tap_guard_ms": 100} | (marker.kwargs if marker else {}))


@pytest.fixture
def live_server(app):
    """The test's app on a real WSGI server (waitress), on a free port of 127.0.0.1; yields its base URL."""
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    # Close the listening socket and every open connection from inside the server's own loop, which then
    # has nothing left to watch and returns (its worker threads are shut down on the way out).
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(timeout=10)
    assert not thread.is_alive(), "the live server did not stop"


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        # Playwright turns the back/forward cache off by default; a clinic tablet has it on, and the Back
        # button tests must see what a patient would.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             ignore_default_args=["--disable-back-forward-cache"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A tablet in portrait (768 x 1024) with a clean browser profile, pointed at the live server."""
    context = browser.new_context(base_url=live_server, viewport=PORTRAIT, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def kiosk(page, app):
    return Kiosk(page, app)


@pytest.fixture
def enrol(app, create_study, create_participant):
    """A participant of a new study whose baseline assessment is open, and a start code for it.

    Returns study, participant, assessment_id and code."""

    def make(instruments: list[str], terms: list[int] | None = None, language: str = "en",
             study_code: str = "NCT0000001", participant_code: str = "P-001") -> SimpleNamespace:
        study = create_study(code=study_code, instruments=instruments, terms=terms)
        participant = create_participant(study, code=participant_code, language=language)
        assessment_id = participant.assessments["baseline"]
        with app.app_context():
            code = codes.issue(db.session.get(Assessment, assessment_id), None)
            db.session.commit()
        return SimpleNamespace(study=study, participant=participant, assessment_id=assessment_id, code=code)

    return make


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
