"""Study results benchmark: prints figures, asserts nothing.

Seeds a synthetic study on a temporary SQLite file (or --database FILE, reused when it is already seeded, and
given any index of the models it lacks, as a migration would: the results read the scores through
ix_score_scored_values):
4 sites, 2 arms, 4 timepoints asking QLQ-C30, QLQ-BR45 and PRO-CTCAE (the default term set),
--participants participants (default 10,000), their assessments (mostly completed, a few in progress, not
done or missed; 3% withdrawn, 1% died) and the stored scores, computed by the vectorised instrument library
from random answers that drift worse over time in arm B. Rows go in through SQLAlchemy Core bulk inserts
(the results read only participants, assessments and scores, so no item rows are seeded).

Then it computes every result of the study (scale results, PRO-CTCAE results, time to deterioration with
Kaplan-Meier estimates: pro_app.results.services.compute) --repeat times and prints the median time and its
ratio to the target (issue 14: under 2 s on SQLite). For fairness on a loaded machine it also times, in the
same run, a bare read of the same score rows (the plain join of score, assessment and participant, every row
fetched as a tuple and nothing else done): what reading every value into Python alone costs, which the
computation avoids (it has the database group the values by scale and value). Both as wall and CPU time (CPU
time moves less when other processes share the cores).

Run: PYTHONPATH=. /work/main/.venv/bin/python bench/bench_results.py [--participants 10000] [--repeat 3]
     [--database FILE]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, event, insert, select

from pro_app import create_app
from pro_app.assessments.schedule import window
from pro_app.extensions import db
from pro_app.instruments import ENGINE_VERSION, get_instrument, score
from pro_app.models import Study
from pro_app.models.study import default_thresholds
from pro_app.results import services
from pro_app.settings import Settings

CODE = "RESULTS-BENCH"
INSTRUMENTS = ["qlq_c30", "qlq_br45", "pro_ctcae"]
SITES = [("BCN", "Barcelona", "Europe/Madrid"), ("MIA", "Miami", "America/New_York"),
         ("LON", "London", "Europe/London"), ("SYD", "Sydney", "Australia/Sydney")]
TIMEPOINTS = [("baseline", 0, 14, 3), ("wk12", 84, 14, 14), ("wk24", 168, 14, 14), ("fu30", 198, 7, 14)]
BATCH = 50_000
TARGET_SECONDS = 2.0


def answers(instrument, n: int, drift: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Random answers to every planned item; `drift` (0-1 per row) moves answers towards the worse end."""
    items = (instrument.items_for_selection(instrument.default_selection()) if instrument.selectable
             else instrument.item_ids)
    columns = {}
    for item_id in items:
        values = np.array(instrument.item(item_id).option_set.values, dtype=float)
        pick = np.clip(rng.beta(1.5, 3.0, n) + drift * 0.5, 0, 0.999)
        column = values[(pick * len(values)).astype(int)]
        if instrument.item(item_id).number in (29, 30):  # ratings: 7 is best, so drift lowers them
            column = values[::-1][(pick * len(values)).astype(int)]
        column[rng.random(n) < 0.03] = np.nan
        columns[item_id] = column
    return pd.DataFrame(columns)


def seed(database_url: str, participants: int) -> None:
    engine = create_engine(database_url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    tables = db.metadata.tables
    study_t, site_t, tp_t, part_t, asmt_t, score_t = (tables[t] for t in ("study", "site", "timepoint", "participant",
                                                                          "assessment", "score"))
    rng = np.random.default_rng(14)
    now = datetime.now(UTC)
    today = now.date()
    with engine.begin() as conn:
        conn.execute(insert(study_t), {"code": CODE, "title": "Results benchmark", "anchor_event": "Start of RT",
                                       "selections": {}, "arms": ["A", "B"], "thresholds": default_thresholds(),
                                       "created_at": now})
        study_id = conn.scalar(select(study_t.c.id).where(study_t.c.code == CODE))
        conn.execute(insert(site_t), [{"study_id": study_id, "code": c, "name": n, "timezone": z} for c, n, z in SITES])
        conn.execute(insert(tp_t), [{"study_id": study_id, "code": c, "label": c, "position": p, "target_day": d,
                                     "window_before": b, "window_after": a, "instruments": INSTRUMENTS}
                                    for p, (c, d, b, a) in enumerate(TIMEPOINTS, 1)])
        site_ids = conn.scalars(select(site_t.c.id).where(site_t.c.study_id == study_id)).all()
        timepoints = conn.execute(select(tp_t).where(tp_t.c.study_id == study_id).order_by(tp_t.c.position)).all()
        people = []
        for n in range(participants):
            roll = rng.random()
            anchor = today - timedelta(days=int(rng.integers(230, 1000)))
            people.append({"study_id": study_id, "site_id": site_ids[n % len(site_ids)],
                           "study_code": f"R-{n + 1:05d}", "language": "en", "anchor_date": anchor,
                           "arm": "AB"[n % 2], "status": "withdrawn" if roll < 0.03 else "active",
                           "withdrawn_on": anchor + timedelta(days=100) if roll < 0.03 else None,
                           "death_date": anchor + timedelta(days=120) if 0.03 <= roll < 0.04 else None,
                           "follow_up_continues": False, "created_at": now})
        for start in range(0, len(people), BATCH):
            conn.execute(insert(part_t), people[start:start + BATCH])
        rows = conn.execute(select(part_t.c.id, part_t.c.anchor_date, part_t.c.arm, part_t.c.withdrawn_on,
                                   part_t.c.death_date).where(part_t.c.study_id == study_id)).all()
        assessments, done = [], []
        for pid, anchor, arm, withdrawn_on, death_date in rows:
            for tp in timepoints:
                target, start, end = window(anchor, tp)
                stop = withdrawn_on or death_date
                roll = rng.random()
                row = {"participant_id": pid, "timepoint_id": tp.id, "target_date": target, "window_start": start,
                       "window_end": end, "status": "scheduled", "mode": None, "started_at": None,
                       "completed_at": None, "not_done_reason": None}
                if (stop is None or start < stop) and roll < 0.95:
                    when = datetime(target.year, target.month, target.day, 10, tzinfo=UTC)
                    partial = roll > 0.93
                    row.update(status="in_progress" if partial else "completed", mode="self", started_at=when,
                               completed_at=None if partial else when + timedelta(minutes=20))
                    done.append((pid, tp.position, arm))
                elif roll < 0.97:
                    row.update(status="not_done", not_done_reason="too_ill")
                assessments.append(row)
        for start in range(0, len(assessments), BATCH):
            conn.execute(insert(asmt_t), assessments[start:start + BATCH])
        ids = {(p, t): a for a, p, t in conn.execute(
            select(asmt_t.c.id, asmt_t.c.participant_id, tp_t.c.position).join(tp_t, asmt_t.c.timepoint_id == tp_t.c.id)
            .where(tp_t.c.study_id == study_id, asmt_t.c.status.in_(["completed", "in_progress"])))}
        assessment_ids = [ids[(p, t)] for p, t, _ in done]
        drift = np.array([(t - 1) * (0.12 if arm == "B" else 0.04) for _, t, arm in done])
        batch = []
        for instrument_id in INSTRUMENTS:
            instrument = get_instrument(instrument_id)
            result = score(instrument, answers(instrument, len(done), drift, rng))
            asked = set(result.values.columns[result.status.ne("insufficient").any()])
            for code in instrument.scale_codes:
                if code not in asked:
                    continue
                values, statuses, used = (result.values[code].tolist(), result.status[code].astype(str).tolist(),
                                          result.n_items[code].tolist())
                for aid, value, status, n_items in zip(assessment_ids, values, statuses, used, strict=True):
                    batch.append({"assessment_id": aid, "instrument_id": instrument_id,
                                  "instrument_version": instrument.version, "scoring_version": ENGINE_VERSION,
                                  "scale_code": code, "value": None if value != value else value, "status": status,
                                  "n_items": int(n_items), "computed_at": now})
                    if len(batch) >= BATCH:
                        conn.execute(insert(score_t), batch)
                        batch = []
        if batch:
            conn.execute(insert(score_t), batch)
    engine.dispose()


def bare_read(study_id: int) -> int:
    """The score rows the results count, fetched as plain tuples by the DBAPI cursor and dropped: by the
    assessment index, as before ix_score_scored_values (with it SQLite would scan that index and look each
    row's assessment up, which costs half as much again)."""
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    rows = cursor.execute(
        "SELECT s.assessment_id, s.scale_code, s.value FROM score s INDEXED BY ix_score_assessment_id "
        "JOIN assessment a ON s.assessment_id = a.id "
        "JOIN participant p ON a.participant_id = p.id WHERE p.study_id = ? AND a.status IN ('completed', "
        "'partial') AND s.status = 'scored' AND s.value IS NOT NULL", (study_id,)).fetchall()
    cursor.close()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", type=Path, help="SQLite file to seed or reuse")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_results_"))
    path = args.database or folder / "results.sqlite3"
    url = f"sqlite:///{path}"
    settings = Settings.from_env(folder / "instance", environ={}, database_url=url, testing=True,
                                 secret_key="bench-" + uuid.uuid4().hex)
    app = create_app(settings)
    with app.app_context():
        db.create_all()
        for table in db.metadata.sorted_tables:  # create_all adds no index to a table that exists
            for index in table.indexes:
                index.create(db.engine, checkfirst=True)
        if db.session.scalar(select(Study.id).where(Study.code == CODE)) is None:
            began = time.perf_counter()
            db.session.commit()
            seed(url, args.participants)
            print(f"seeded {args.participants:,} participants in {time.perf_counter() - began:.1f} s")
        study = db.session.scalar(select(Study).where(Study.code == CODE))
        times, cpu, bare, bare_cpu = [], [], [], []
        for _ in range(args.repeat):
            db.session.expire_all()
            began, began_cpu = time.perf_counter(), time.process_time()
            results = services.compute(study)
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
            db.session.rollback()
            began, began_cpu = time.perf_counter(), time.process_time()
            rows = bare_read(study.id)
            bare.append(time.perf_counter() - began)
            bare_cpu.append(time.process_time() - began_cpu)
            db.session.rollback()
        seconds = statistics.median(times)
        print(f"rows: scale results {len(results.scales):,}, symptom results {len(results.terms):,}, "
              f"time-to-deterioration rows {len(results.ttd):,}, Kaplan-Meier estimates {len(results.km):,}")
        print(f"every result of the study: median {seconds:.2f} s over {args.repeat} runs "
              f"(target < {TARGET_SECONDS:g} s: ratio {seconds / TARGET_SECONDS:.2f}); "
              f"CPU {statistics.median(cpu):.2f} s")
        print(f"bare read of the {rows:,} score rows, same run: median {statistics.median(bare):.2f} s, "
              f"CPU {statistics.median(bare_cpu):.2f} s (results / bare read: {seconds / statistics.median(bare):.2f})")


if __name__ == "__main__":
    main()
