"""`pro-app serve --demo` as a site runs it: a real server process on a production WSGI server, and a patient
who loses nothing when the server is killed between two answers.

The server only ever listens on, and is only ever contacted at, 127.0.0.1. Every process started here is
killed in a `finally` block.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

from pro_app.security import codes
from tests.support.cli import DemoOutput, parse_demo_output
from tests.support.http import csrf_token

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
SCRIPT = Path(sys.executable).with_name("pro-app")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Browser:
    """A minimal browser for one tablet: keeps its cookies, never follows redirects, talks to 127.0.0.1 only
    (http.client ignores proxy settings)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, dict, str]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, dict(response.headers.items()), text
        finally:
            conn.close()

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]):
        return self.request("POST", path, form)


def location(headers: dict) -> str:
    """The path of a redirect (absolute or relative Location)."""
    return re.sub(r"^https?://[^/]+", "", headers["Location"])


class Server:
    def __init__(self, folder: Path, port: int, *, demo: bool, name: str):
        self.folder, self.port = folder, port
        self.log = folder / f"{name}.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PRO_APP_", "FLASK_")) and k not in ("DATABASE_URL", "SECRET_KEY")}
        env.update(PRO_APP_INSTANCE_PATH=str(folder / "instance"), DATABASE_URL=f"sqlite:///{self.database}",
                   PYTHONUNBUFFERED="1")
        command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "pro_app.cli"]
        command += ["serve", "--host", HOST, "--port", str(port)] + (["--demo"] if demo else [])
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)

    @property
    def database(self) -> Path:
        return self.folder / "pro_app.sqlite3"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_ready(self) -> dict:
        """Wait (bounded) until /kiosk/ answers 200; the response headers."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                status, headers, _ = Browser(self.port).get("/kiosk/")
                if status == 200:
                    return headers
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the server did not answer within {START_TIMEOUT} s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a power cut of the process."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def servers(tmp_path):
    started: list[Server] = []

    def start(*, demo: bool, name: str, port: int | None = None) -> Server:
        server = Server(tmp_path, port or free_port(), demo=demo, name=name)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.kill()


def stored_answers(database: Path, code: str) -> dict[str, tuple[int | None, str]]:
    """What the database file holds for the assessment of the patient code (read with sqlite3 directly)."""
    conn = sqlite3.connect(database, timeout=10)
    try:
        rows = conn.execute(
            "SELECT r.item_id, r.value, r.state FROM item_response r JOIN patient_code c "
            "ON c.assessment_id = r.assessment_id WHERE c.code_hash = ?", (codes.digest(code),)).fetchall()
    finally:
        conn.close()
    return {item: (value, state) for item, value, state in rows}


def enter_code(browser: Browser, code: str) -> str:
    """Type the code on the start screen; where the kiosk then sends the patient."""
    status, _, html = browser.get("/kiosk/")
    assert status == 200
    status, headers, _ = browser.post("/kiosk/", {"code": code, "csrf_token": csrf_token(html)})
    assert status == 302 and location(headers) == "/kiosk/a", status
    status, headers, _ = browser.get("/kiosk/a")
    assert status == 302
    return location(headers)


def test_serve_demo_runs_on_a_production_server_and_prints_a_login_and_a_code(servers):
    server = servers(demo=True, name="first")
    headers = server.wait_until_ready()
    printed: DemoOutput = parse_demo_output(server.output())

    assert "Server" in headers
    assert "werkzeug" not in headers["Server"].lower()
    assert "development server" not in server.output()
    assert printed.email.endswith("@example.org") and len(printed.password) >= 12

    staff = Browser(server.port)
    status, _, html = staff.get("/staff/login")
    assert status == 200
    status, headers, _ = staff.post("/staff/login", {"email": printed.email, "password": printed.password,
                                                     "csrf_token": csrf_token(html)})
    assert status == 302 and location(headers) == "/staff/today"
    assert staff.get("/staff/")[0] == 200

    patient = Browser(server.port)
    assert enter_code(patient, printed.patient_code) == "/kiosk/a/intro/qlq_c30"


def test_killing_the_server_between_two_answers_loses_nothing_the_patient_saw_acknowledged(servers):
    first = servers(demo=True, name="first")
    first.wait_until_ready()
    printed = parse_demo_output(first.output())

    tablet = Browser(first.port)
    intro = enter_code(tablet, printed.patient_code)
    assert intro == "/kiosk/a/intro/qlq_c30"
    status, _, html = tablet.get(intro)
    assert status == 200
    status, headers, _ = tablet.post(intro, {"csrf_token": csrf_token(html)})
    assert status == 302 and location(headers) == "/kiosk/a/item/q1"
    status, _, html = tablet.get("/kiosk/a/item/q1")
    assert status == 200
    status, headers, _ = tablet.post("/kiosk/a/item/q1", {"choice": "3", "action": "next",
                                                          "csrf_token": csrf_token(html)})
    assert status == 302 and location(headers) == "/kiosk/a/item/q2"  # acknowledged: the next item is shown

    first.kill()
    assert stored_answers(first.database, printed.patient_code) == {"q1": (3, "answered")}

    second = servers(demo=False, name="second", port=free_port())
    second.wait_until_ready()
    assert stored_answers(second.database, printed.patient_code) == {"q1": (3, "answered")}

    # The tablet that was in use when the server died carries on at the next item (its session is in the
    # database, and the secret key in the instance folder), with nothing pre-filled on the new item. Another
    # browser typing the same code meanwhile is refused: the assessment is open on the first tablet.
    tablet.port = second.port
    status, headers, _ = tablet.get("/kiosk/a")
    assert status == 302 and location(headers) == "/kiosk/a/item/q2"
    status, _, html = tablet.get("/kiosk/a/item/q2")
    assert status == 200
    assert not re.search(r"<input[^>]*\bchecked\b", html)
    again = Browser(second.port)
    status, _, start = again.get("/kiosk/")
    status, _, _ = again.post("/kiosk/", {"code": printed.patient_code, "csrf_token": csrf_token(start)})
    assert status == 409


#: Tablets connected at once with keep-alive in the connection-limit test (issue 18's clinic: 500).
TABLETS_CONNECTED = 500


def test_more_keep_alive_tablets_than_waitress_default_limit_are_all_served(servers):
    """500 tablets each keep a connection open (keep-alive): waitress' default limit of 100 left all but 100
    of them waiting with no page; `pro-app serve` defaults to a limit sized for a clinic (issue 18: 500
    tablets connected to one `pro-app serve`)."""
    server = servers(demo=False, name="many")
    server.wait_until_ready()
    connections = [http.client.HTTPConnection(HOST, server.port, timeout=30) for _ in range(TABLETS_CONNECTED)]
    try:
        for conn in connections:  # every tablet connects and asks, before any answer is read
            conn.connect()
            conn.putrequest("GET", "/kiosk/")
            conn.putheader("Connection", "keep-alive")
            conn.endheaders()
        statuses = []
        for conn in connections:
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        assert statuses == [200] * TABLETS_CONNECTED
        assert "up to 1000 connections" in server.output()
    finally:
        for conn in connections:
            conn.close()
