"""Kill soak: patients answer while the server is killed with SIGKILL and restarted; nothing acknowledged is lost.

Starts `pro-app serve` on a fresh database (SQLite in a temporary folder; PostgreSQL when --database-url names
an EMPTY database), seeds start codes, and lets N simulated patients answer as bench/bench_kiosk.py's tablets
do (GET item → POST answer → follow the redirect; the same client code). Every answer the server acknowledged
(its redirect received) is recorded. Meanwhile the server is killed with SIGKILL and restarted K times. At the
end it prints the acknowledged answers, those missing or changed in the database, duplicate rows, and SQLite's
`PRAGMA integrity_check`. Each patient's choice for an item is fixed (a hash of code and item), so an answer
sent again after a kill is the same answer.

Run from the checkout: .venv/bin/python -m bench.soak_kill [--patients 200] [--kills 10] [--database-url
postgresql+psycopg://…/empty_db] [--port 5300]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.bench_kiosk import Tablet, radios, seed, token, wait_for


class Acks:
    def __init__(self):
        self.lock = threading.Lock()
        self.answers: dict[tuple[str, str], str] = {}  # (code, item id) → the choice acknowledged
        self.acknowledged = 0  # acknowledgements received (an answer sent again after a kill counts again)
        self.errors = 0


def choose(code: str, item_id: str, options: list[str]) -> str:
    return options[int(hashlib.sha256(f"{code}/{item_id}".encode()).hexdigest(), 16) % len(options)]


def patient(port: int, codes: list[str], codes_lock: threading.Lock, acks: Acks, stop: threading.Event) -> None:
    while not stop.is_set():
        with codes_lock:
            if not codes:
                return
            code = codes.pop()
        tablet = Tablet(port)
        location = None
        while not stop.is_set():
            try:
                if location is None:  # start (again): the start screen, the code
                    _, _, page = tablet.request("GET", "/kiosk/")
                    status, location, _ = tablet.request("POST", "/kiosk/", {"code": code, "csrf_token": token(page)})
                    if status != 302:
                        location = None
                        raise ConnectionError(f"start refused: {status}")
                status, redirect, page = tablet.request("GET", location)
                if status == 302:
                    location = redirect
                    continue
                if status != 200:
                    raise ConnectionError(f"GET {location}: {status}")
                if "/intro/" in location:
                    status, redirect, _ = tablet.request("POST", location, {"csrf_token": token(page)})
                elif "/item/" in location and radios(page):
                    item_id = location.rsplit("/", 1)[-1]
                    choice = choose(code, item_id, radios(page))
                    status, redirect, _ = tablet.request("POST", location, {
                        "choice": choice, "action": "next", "csrf_token": token(page)})
                    if status == 302:
                        with acks.lock:
                            acks.answers[(code, item_id)] = choice
                            acks.acknowledged += 1
                else:
                    break  # the review screen, or a page without a question: next code
                if status != 302:
                    raise ConnectionError(f"POST {location}: {status}")
                location = redirect
            except Exception:  # noqa: BLE001 - the server is down or was killed: try again in a moment
                with acks.lock:
                    acks.errors += 1
                tablet.conn.close()
                stop.wait(0.3 + random.random() * 0.5)
                if location and "/kiosk/a" not in location:
                    location = None
        tablet.conn.close()


def start_server(env: dict, port: int, threads: int, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "pro_app.cli", "serve", "--port", str(port),
                                   "--threads", str(threads)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    wait_for(port, "/kiosk/", server, log)
    return server


CHECK = """
import json, sys
from sqlalchemy import func, select
from pro_app import create_app
from pro_app.extensions import db, library
from pro_app.models import ItemResponse, PatientCode
from pro_app.security import codes
answers = json.load(open(sys.argv[1]))
app = create_app()
missing = changed = 0
examples = []
with app.app_context():
    assessment_of = {}
    for code in {a[0] for a in answers}:
        assessment_of[code] = db.session.scalar(select(PatientCode.assessment_id)
                                                .where(PatientCode.code_hash == codes.digest(code)))
    rows = {(r.assessment_id, r.item_id): r for r in db.session.scalars(select(ItemResponse))}
    for code, item_id, choice in answers:
        row = rows.get((assessment_of[code], item_id))
        if row is None:
            missing += 1
            examples.append(f"missing {code} {item_id}")
            continue
        value, option, state = library.get(row.instrument_id).item(item_id).parse(choice)
        if (row.value, row.option_code, row.state) != (value, option, state):
            changed += 1
            examples.append(f"changed {code} {item_id}: {choice} stored as {row.value} {row.option_code} {row.state}")
    duplicates = db.session.execute(
        select(func.count()).select_from(
            select(ItemResponse.assessment_id, ItemResponse.item_id)
            .group_by(ItemResponse.assessment_id, ItemResponse.item_id)
            .having(func.count() > 1).subquery())).scalar_one()
    stored = db.session.scalar(select(func.count()).select_from(ItemResponse))
print(json.dumps({"missing": missing, "changed": changed, "duplicates": duplicates, "stored": stored,
                  "examples": examples[:10]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--up", type=float, default=6, help="seconds the server runs between kills (±50 %%)")
    parser.add_argument("--codes", type=int, default=600, help="start codes seeded (one per assessment)")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database (default: a new SQLite file)")
    parser.add_argument("--port", type=int, default=5300)
    args = parser.parse_args()
    rng = random.Random()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sqlite_file = tmp / "pro_app.sqlite3"
        database = args.database_url or f"sqlite:///{sqlite_file}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PRO_APP_", "FLASK_"))}
        env.update(DATABASE_URL=database, PRO_APP_INSTANCE_PATH=str(tmp / "instance"),
                   PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        print(f"database {'PostgreSQL' if args.database_url else 'SQLite'}; {args.patients} patients; "
              f"{args.kills} SIGKILLs, about {args.up:.0f} s apart; serve --threads {args.threads}", flush=True)
        codes, _, _ = seed(env, args.codes)
        print(f"seeded {len(codes)} start codes", flush=True)
        log = tmp / "serve.log"
        server = start_server(env, args.port, args.threads, log)
        acks, stop, lock = Acks(), threading.Event(), threading.Lock()
        patients = [threading.Thread(target=patient, args=(args.port, codes, lock, acks, stop), daemon=True)
                    for _ in range(args.patients)]
        started = time.monotonic()
        for t in patients:
            t.start()
        restarts = []
        try:
            for n in range(args.kills):
                time.sleep(args.up * rng.uniform(0.5, 1.5))
                with acks.lock:
                    at_kill = acks.acknowledged
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
                begin = time.monotonic()
                server = start_server(env, args.port, args.threads, log)
                restarts.append(time.monotonic() - begin)
                print(f"  kill {n + 1:>2}: {at_kill} answers acknowledged so far; back up in {restarts[-1]:.1f} s",
                      flush=True)
            time.sleep(args.up)
        finally:
            stop.set()
            for t in patients:
                t.join(30)
            elapsed = time.monotonic() - started
            os.killpg(server.pid, signal.SIGKILL)  # the last kill: nothing is shut down cleanly
            server.wait()
        answers = tmp / "acknowledged.json"
        answers.write_text(json.dumps([[code, item, choice] for (code, item), choice in acks.answers.items()]))
        checked = subprocess.run([sys.executable, "-c", CHECK, str(answers)], env=env, capture_output=True,
                                 text=True)
        if checked.returncode:
            sys.exit(checked.stderr)
        result = json.loads(checked.stdout.strip().splitlines()[-1])
        integrity = "n/a (PostgreSQL)"
        if not args.database_url:
            with sqlite3.connect(sqlite_file) as connection:
                integrity = "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
        print(f"{elapsed:.0f} s, {len(restarts) + 1} SIGKILLs (restarts took {min(restarts, default=0):.1f}–"
              f"{max(restarts, default=0):.1f} s); client errors while the server was down: {acks.errors}")
        print(f"acknowledged answers:             {acks.acknowledged} ({len(acks.answers)} distinct items; "
              f"{result['stored']} rows in item_response, the demo's included)")
        print(f"missing after restart:            {result['missing']}")
        print(f"changed after restart:            {result['changed']}")
        print(f"duplicate rows (assessment, item): {result['duplicates']}")
        print(f"PRAGMA integrity_check:           {integrity}")
        for example in result["examples"]:
            print(f"  {example}")
        lost = result["missing"] or result["changed"] or result["duplicates"]
        if lost or integrity not in ("ok", "n/a (PostgreSQL)"):
            sys.exit(1)


if __name__ == "__main__":
    main()
