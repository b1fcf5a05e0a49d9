"""Staff pages benchmark: prints figures, asserts nothing.

Seeds a study of --participants participants (default 10,000) on a temporary SQLite file: 2 sites, 4
timepoints, one assessment per participant and timepoint (anchor dates spread over the past year, so windows
are open, missed and to come), through SQLAlchemy Core bulk inserts. Then, logged in as an administrator
through the Flask test client, it requests each staff page --repeat times and prints the median time, the
size of the page, and the time as a ratio to a floor measured in the same run (the login page, which reads
nothing from the study). Targets (issue 13): every page under 300 ms and under 1 MB.

Run: PYTHONPATH=. /work/main/.venv/bin/python bench/bench_pages.py [--participants 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from pro_app import create_app
from pro_app.assessments.schedule import window
from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.models import Assessment, Participant, Site, Study, Timepoint
from pro_app.settings import Settings
from pro_app.users.services import create_user

PASSWORD = "bench-password-1234"
TIMEPOINTS = [("baseline", 0, 14, 3), ("wk12", 84, 14, 14), ("wk24", 168, 14, 14), ("fu30", 198, 7, 14)]


def seed(n: int) -> tuple[str, int]:
    study = Study(code="BENCH", title="Pages benchmark", selections={"pro_ctcae": [17, 9, 1]}, arms=["A", "B"])
    db.session.add(study)
    sites = [Site(study=study, code="BCN", name="Barcelona", timezone="Europe/Madrid"),
             Site(study=study, code="MIA", name="Miami", timezone="America/New_York")]
    db.session.add_all(sites)
    timepoints = [Timepoint(study=study, code=c, label=c, position=i, target_day=d, window_before=b, window_after=a,
                            instruments=["qlq_c30", "pro_ctcae"]) for i, (c, d, b, a) in enumerate(TIMEPOINTS, 1)]
    db.session.add_all(timepoints)
    create_user("admin@bench.example", "admin", PASSWORD, [])
    db.session.commit()
    today = utcnow().date()
    people = [{"study_id": study.id, "site_id": sites[i % 2].id, "study_code": f"P-{i:05d}", "language": "en",
               "anchor_date": today - timedelta(days=i % 365), "status": "active", "arm": "AB"[i % 2],
               "follow_up_continues": False} for i in range(n)]
    db.session.execute(insert(Participant), people)
    ids = db.session.execute(select(Participant.id, Participant.anchor_date)).all()
    rows = []
    for pid, anchor in ids:
        for tp in timepoints:
            target, start, end = window(anchor, tp)
            rows.append({"participant_id": pid, "timepoint_id": tp.id, "target_date": target, "window_start": start,
                         "window_end": end, "status": "completed" if end < today and pid % 3 else "scheduled"})
    for start in range(0, len(rows), 20_000):
        db.session.execute(insert(Assessment), rows[start:start + 20_000])
    db.session.commit()
    return study.code, ids[0][0]


def timed(client, url: str, repeat: int) -> tuple[float, int, int]:
    times, size, status = [], 0, 0
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        times.append(time.perf_counter() - began)
        size, status = len(body), response.status_code
    return statistics.median(times), size, status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_pages_"))
    settings = Settings.from_env(folder / "instance", environ={}, database_url=f"sqlite:///{folder / 'b.sqlite3'}",
                                 testing=True, secret_key="bench-" + uuid.uuid4().hex)
    app = create_app(settings)
    with app.app_context():
        db.create_all()
        began = time.perf_counter()
        code, participant_id = seed(args.participants)
        print(f"seeded {args.participants} participants, {args.participants * 4} assessments "
              f"in {time.perf_counter() - began:.1f} s")
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    r = client.post("/staff/login", data={"email": "admin@bench.example", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.status_code
    floor, _, _ = timed(client, "/staff/login", args.repeat)
    pages = ["/staff/today", "/staff/", "/staff/?status=open", "/staff/?q=P-0123",
             f"/staff/studies/{code}/participants", f"/staff/studies/{code}/participants?page=150",
             f"/staff/studies/{code}/participants?q=P-09&arm=A", f"/staff/studies/{code}/dashboard",
             f"/staff/studies/{code}/compliance", "/staff/studies", f"/staff/participants/{participant_id}",
             "/staff/admin/audit", f"/staff/studies/{code}/alerts"]
    print(f"floor (login page): {floor * 1000:.1f} ms; target: < 300 ms and < 1 MB per page")
    print(f"{'page':60} {'status':>6} {'ms':>9} {'x floor':>8} {'KiB':>9} {'ok':>4}")
    for url in pages:
        seconds, size, status = timed(client, url, args.repeat)
        ok = "yes" if seconds < 0.3 and size < 1_000_000 and status == 200 else "NO"
        print(f"{url:60} {status:>6} {seconds * 1000:>9.1f} {seconds / floor:>8.1f} {size / 1024:>9.1f} {ok:>4}")


if __name__ == "__main__":
    main()
