"""Tablet load benchmark: prints answers/s and latencies, and their ratio to a floor app in the same run.

Starts `pro-app serve` on a fresh database (SQLite in a temporary folder; PostgreSQL when --postgres-url names
an EMPTY database), seeds the demo study with N participants and a start code for each open assessment, then
drives 8, 32 and 64 simulated tablets for a fixed time. Each tablet is its own session and keep-alive
connection: GET the item page → POST an answer → follow the redirect (a new code when an assessment ends).
The same client drives bench/floor_app.py (bare Flask + Flask-WTF + waitress writing one row per answer) in
phases that alternate with pro-app's (--rounds per tablet count), so the ratio of each round compares two
phases seconds apart on a shared machine whose load moves; the median ratio is printed. Last, 8 tablets alone,
then 8 tablets while a coordinator keeps loading a heavy staff page (--staff-page, default the study's compliance
page, the heaviest at 10,000 participants in bench_pages), back to back or, with --staff-pause, with a pause
between loads as a person reading it would.

Run from the checkout: .venv/bin/python -m bench.bench_kiosk [--seconds 20] [--participants 400]
[--tablets 8,32,64] [--rounds 2] [--threads 16] [--postgres-url postgresql+psycopg://…/empty_db] [--port 5600]
[--staff-page /staff/studies/DEMO/compliance] [--staff-pause 0] [--checkout /path/to/another/checkout]
(--checkout: the same client and floor against another version of pro-app)
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

HOST = "127.0.0.1"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
RADIO = re.compile(r'<input[^>]*type="radio"[^>]*value="([^"]*)"|<input[^>]*value="([^"]*)"[^>]*type="radio"')


class Tablet:
    """One tablet: its own keep-alive connection and cookies."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {"Accept-Language": "en", "Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
                if attempt:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        location = re.sub(r"^https?://[^/]+", "", response.headers.get("Location", ""))
        return response.status, location, text


def token(page: str) -> str:
    match = TOKEN.search(page)
    return (match.group(1) or match.group(2)) if match else ""


def radios(page: str) -> list[str]:
    return [a or b for a, b in RADIO.findall(page)]


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.answers = 0
        self.latencies: list[float] = []
        self.errors = 0

    def timed(self, tablet: Tablet, method: str, path: str, form: dict | None = None):
        start = time.perf_counter()
        try:
            result = tablet.request(method, path, form)
        except Exception:  # noqa: BLE001 - counted, the tablet goes on
            with self.lock:
                self.errors += 1
            raise
        with self.lock:
            self.latencies.append(time.perf_counter() - start)
            if result[0] >= 500:
                self.errors += 1
        return result

    def summary(self, seconds: float) -> dict:
        lat = sorted(self.latencies) or [0.0]
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
        return {"rate": self.answers / seconds, "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000,
                "errors": self.errors}


def pro_app_tablet(port: int, codes: list[str], codes_lock: threading.Lock, results: Results, stop: float) -> None:
    rng = random.Random()
    while time.monotonic() < stop:
        with codes_lock:
            if not codes:
                return
            code = codes.pop()
        tablet = Tablet(port)
        try:
            _, _, page = results.timed(tablet, "GET", "/kiosk/")
            status, location, page = results.timed(tablet, "POST", "/kiosk/", {"code": code, "csrf_token": token(page)})
            while status == 302 and time.monotonic() < stop:
                status, redirect, page = results.timed(tablet, "GET", location)
                if status == 302:
                    location = redirect
                    continue
                if status != 200:
                    break
                path = location
                if "/intro/" in path:
                    status, location, _ = results.timed(tablet, "POST", path, {"csrf_token": token(page)})
                elif "/item/" in path and radios(page):
                    status, location, _ = results.timed(tablet, "POST", path, {
                        "choice": rng.choice(radios(page)), "action": "next", "csrf_token": token(page)})
                    if status == 302:
                        with results.lock:
                            results.answers += 1
                else:
                    break  # the review screen, or a page without a question: next code
        except Exception:  # noqa: BLE001 - counted in results.errors
            continue
        finally:
            tablet.conn.close()


def floor_tablet(port: int, results: Results, stop: float) -> None:
    rng = random.Random()
    tablet = Tablet(port)
    location = f"/item/{rng.randint(1, 30)}"
    while time.monotonic() < stop:
        try:
            _, _, page = results.timed(tablet, "GET", location)
            status, location, _ = results.timed(tablet, "POST", location, {
                "choice": rng.choice(radios(page)), "action": "next", "csrf_token": token(page)})
            if status == 302:
                with results.lock:
                    results.answers += 1
        except Exception:  # noqa: BLE001
            location = "/item/1"


def coordinator(port: int, email: str, password: str, path: str, pause: float, stop: float,
                pages: list[float]) -> None:
    staff = Tablet(port)
    _, _, page = staff.request("GET", "/staff/login")
    staff.request("POST", "/staff/login", {"email": email, "password": password, "csrf_token": token(page)})
    while time.monotonic() < stop:
        start = time.perf_counter()
        status, _, _ = staff.request("GET", path)
        if status != 200:
            sys.exit(f"the coordinator's page {path} answered {status}")
        pages.append(time.perf_counter() - start)
        time.sleep(pause)


def wait_for(port: int, path: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited:\n{log.read_text()}")
        try:
            if Tablet(port).request("GET", path)[0] < 500:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"server did not start:\n{log.read_text()}")


def seed(env: dict, participants: int) -> tuple[list[str], str, str]:
    """The demo study (for its coordinator) and `participants` patients, each with a start code."""
    out = subprocess.run([sys.executable, "-m", "pro_app.cli", "demo", "--participants", "20"],
                         env=env, capture_output=True, text=True, check=True).stdout
    email, password = re.search(r"Coordinator login:\s+(\S+)\s+password:\s+(\S+)", out).groups()
    script = """
import sys
from datetime import timedelta
from sqlalchemy import select
from pro_app import create_app
from pro_app.assessments.schedule import create_assessments, local_today
from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.models import Participant, Study
from pro_app.security import codes
app = create_app()
with app.app_context():
    study = db.session.scalar(select(Study).where(Study.code == "DEMO"))
    for number in range(int(sys.argv[1])):  # patients whose baseline window is open today
        participant = Participant(study=study, site=study.sites[0], study_code=f"LOAD-{number:05d}", language="en",
                                  anchor_date=local_today(study.sites[0].timezone, utcnow()) + timedelta(days=3))
        db.session.add(participant)
        db.session.flush()
        print(codes.issue(create_assessments(participant)[0], None))
    db.session.commit()
"""
    issued = subprocess.run([sys.executable, "-c", script, str(participants)], env=env, capture_output=True,
                            text=True, check=True)
    return issued.stdout.split(), email, password


def run_phase(label: str, n: int, seconds: float, target) -> dict:
    results = Results()
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=target, args=(results, stop), daemon=True) for _ in range(n)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    summary = results.summary(time.monotonic() - start)
    print(f"{label:<42} {n:>3} tablets: {summary['rate']:7.1f} answers/s  p50 {summary['p50']:6.0f} ms  "
          f"p95 {summary['p95']:6.0f} ms  p99 {summary['p99']:6.0f} ms  errors {summary['errors']}", flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--participants", type=int, default=400)
    parser.add_argument("--tablets", default="8,32,64")
    parser.add_argument("--rounds", type=int, default=2, help="alternating pro-app / floor rounds per tablet count")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--postgres-url")
    parser.add_argument("--port", type=int, default=5600)
    parser.add_argument("--staff-page", default="/staff/studies/DEMO/compliance")
    parser.add_argument("--staff-pause", type=float, default=0.0, help="seconds between the coordinator's loads")
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the pro-app checkout to serve (default: this one), e.g. main for a before figure")
    args = parser.parse_args()
    counts = [int(n) for n in args.tablets.split(",")]
    checkout = args.checkout.resolve()
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        database = args.postgres_url or f"sqlite:///{tmp / 'pro_app.sqlite3'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PRO_APP_", "FLASK_"))}
        env.update(DATABASE_URL=database, PRO_APP_INSTANCE_PATH=str(tmp / "instance"), PYTHONPATH=str(checkout))
        print(f"pro-app from {checkout}; database {'PostgreSQL' if args.postgres_url else 'SQLite'}; "
              f"{args.seconds:.0f} s per phase; serve --threads {args.threads}", flush=True)
        codes, email, password = seed(env, args.participants)
        print(f"seeded {args.participants} participants, {len(codes)} start codes", flush=True)
        log = tmp / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen([sys.executable, "-m", "pro_app.cli", "serve", "--port", str(args.port),
                                       "--threads", str(args.threads)], env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
        floor_db = args.postgres_url or f"sqlite:///{tmp / 'floor.sqlite3'}"
        with (tmp / "floor.log").open("wb") as out:
            floor = subprocess.Popen([sys.executable, "-m", "bench.floor_app", "--port", str(args.port + 1),
                                      "--database", floor_db, "--threads", str(args.threads)], env=env,
                                     stdout=out, stderr=subprocess.STDOUT, cwd=here)
        lock = threading.Lock()

        def ours(label: str, n: int) -> dict:
            return run_phase(label, n, args.seconds, lambda r, s: pro_app_tablet(args.port, codes, lock, r, s))

        try:
            wait_for(args.port, "/kiosk/", server, log)
            wait_for(args.port + 1, "/item/1", floor, tmp / "floor.log")
            for n in counts:
                # pro-app and the floor take turns, so a change in the shared machine's load between phases
                # moves both; each round's ratio is printed, and their median.
                ratios, p95s = [], []
                for _ in range(args.rounds):
                    mine = ours("pro-app", n)
                    bare = run_phase("floor (Flask + Flask-WTF + waitress)", n, args.seconds,
                                     lambda r, s: floor_tablet(args.port + 1, r, s))
                    ratios.append(mine["rate"] / max(bare["rate"], 1e-9))
                    p95s.append((mine["p95"], bare["p95"]))
                print(f"  pro-app / floor at {n} tablets: {statistics.median(ratios):.0%} of the answers/s (median of "
                      f"{len(ratios)} alternating rounds: {', '.join(f'{r:.0%}' for r in ratios)}); p95 "
                      + ", ".join(f"{a:.0f} vs {b:.0f} ms" for a, b in p95s), flush=True)
            pages: list[float] = []
            baseline = ours("pro-app, just before the coordinator", 8)
            staff = threading.Thread(target=coordinator, args=(args.port, email, password, args.staff_page,
                                                               args.staff_pause, time.monotonic() + args.seconds,
                                                               pages), daemon=True)
            staff.start()
            loaded = ours("pro-app, a coordinator loading a staff page", 8)
            staff.join(args.seconds + 120)
            print(f"  with the coordinator: {loaded['rate'] / max(baseline['rate'], 1e-9):.0%} of the answers/s "
                  f"without (target ≥ 80 %), p99 {loaded['p99']:.0f} ms (target < 500 ms); "
                  f"{len(pages)} loads of {args.staff_page} ({args.staff_pause:g} s apart), median "
                  f"{statistics.median(pages or [0]) * 1000:.0f} ms", flush=True)
            if "CONNECTION LIMIT" in log.read_text() or "REQUESTS QUEUED" in log.read_text():
                print("  server log: " + "; ".join(line for line in log.read_text().splitlines()
                                                   if "LIMIT" in line or "QUEUED" in line)[:300])
            print(f"  codes left unused: {len(codes)}")
        finally:
            for process in (server, floor):
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    main()
