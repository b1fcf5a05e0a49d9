"""Export benchmark: prints figures, asserts nothing.

1. Seeds a synthetic study on a temporary SQLite file (or --database-url): 4 sites, 4 timepoints each asking
   QLQ-C30, QLQ-BR45 and PRO-CTCAE (the default term set), --participants participants (default 10,000), their
   assessments (mostly completed, with an item_response row for every planned item and the stored scores).
   Rows go in through SQLAlchemy Core bulk inserts; scores come from the vectorised instrument library.
2. Runs every data set (items, scores, wide, proae, compliance, codebook) as CSV, and items and wide as Parquet,
   through pro_app.exports.service (prepare + stream, chunks written to a file), each in a fresh subprocess,
   and prints rows, seconds, rows/s, output size, the time spent reading the database (in the read-ahead thread,
   overlapping the rest), waiting for and shaping chunks, and writing, and peak memory: the peak RSS growth of
   that subprocess during the export and, in a second subprocess run under tracemalloc, the peak of Python
   allocations during the export.
3. The baseline: the whole `wide` frame built in memory (the data set's chunks concatenated) and written by
   pandas `to_csv(path, index=False)`, and the ratio pro-app wide CSV export / pandas to_csv (target: at most
   2x). The pro-app time includes reading the database; the pandas time does not.
4. Bounded memory: every export also runs on a second study of --scale-check participants (default a quarter
   of --participants) seeded into the same database, side by side with the full one; those smaller runs are
   also repeated under tracemalloc (--tracemalloc-runs).

Run: /work/venv/bin/python bench/bench_export.py [--participants 10000] [--scale-check 2500] [--repeat 1]
     [--database-url postgresql+psycopg://user@host/db] [--tracemalloc-runs none|small|all] [--keep DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, event, func, insert, select, text

from pro_app import create_app
from pro_app.assessments.schedule import window
from pro_app.extensions import db
from pro_app.instruments import ENGINE_VERSION, get_instrument, score
from pro_app.models import PlanPart, default_thresholds
from pro_app.settings import Settings

INSTRUMENTS = ["qlq_c30", "qlq_br45", "pro_ctcae"]
SITES = [("BCN", "Barcelona", "Europe/Madrid"), ("MIA", "Miami", "America/New_York"),
         ("LON", "London", "Europe/London"), ("SYD", "Sydney", "Australia/Sydney")]
TIMEPOINTS = [("baseline", 0, 14, 3), ("wk12", 84, 14, 14), ("wk24", 168, 14, 14), ("fu30", 198, 7, 14)]
NOT_DONE_REASONS = ["patient_refused", "too_ill", "staff_error", "device_failure"]
MODES = ["self"] * 7 + ["assisted"] * 2 + ["paper"]
BATCH = 50_000
RUNS = [("codebook", "csv"), ("compliance", "csv"), ("scores", "csv"), ("proae", "csv"), ("wide", "csv"),
        ("wide", "parquet"), ("items", "csv"), ("items", "parquet")]
ANSWER_STATES = ("answered", "declined", "branched")  # codes 0, 1, 2; an extra option's state is looked up


# --- app and database ----------------------------------------------------------------------------------------

def make_app(database_url: str, instance: Path):
    settings = Settings.from_env(instance, environ={}, database_url=database_url, testing=True,
                                 secret_key="bench-only-" + uuid.uuid4().hex)
    return create_app(settings)


def seed_engine(database_url: str):
    """A plain engine for loading: on SQLite without the app's per-commit fsync (synchronous=FULL)."""
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.close()
    return engine


def rss_mb() -> float:
    """Current resident set size (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak_rss() -> bool:
    """Reset the process's peak RSS (Linux >= 4.0), so the next peak is this export's alone."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak RSS since the last reset (VmHWM), or since the process started (getrusage) without /proc."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- seeding -------------------------------------------------------------------------------------------------

def plan_items() -> list[tuple[object, list[str]]]:
    """(instrument, planned item ids) per instrument asked, as build_plan makes it for the default term set."""
    plan = []
    for instrument_id in INSTRUMENTS:
        inst = get_instrument(instrument_id)
        items = list(inst.items_for_selection(inst.default_selection()))
        plan.append((inst, items))
    return plan


def answer_matrix(inst, items: list[str], n: int, rng: np.random.Generator):
    """Values (float, NaN unless answered), state codes and extra-option codes for n administrations.

    About 3% of items declined, 2% of PRO-CTCAE items with an extra option take it (not applicable /
    prefer not to answer); a PRO-CTCAE stem item is 0 ("never" / "none") 45% of the time, so its follow-up
    items are branched as route() would branch them."""
    k = len(items)
    values = np.full((n, k), np.nan)
    states = np.zeros((n, k), dtype=np.int8)
    extra = np.full((n, k), None, dtype=object)
    extra_state = np.full((n, k), None, dtype=object)
    position = {item_id: j for j, item_id in enumerate(items)}
    for j, item_id in enumerate(items):
        item = inst.item(item_id)
        choices = np.array(item.option_set.values, dtype=float)
        col = choices[rng.integers(0, len(choices), n)]
        if inst.terms:
            col = np.where(rng.random(n) < 0.45, choices.min(), col)
        declined = rng.random(n) < 0.03
        col[declined] = np.nan
        states[declined, j] = 1
        extras = item.option_set.extras
        if extras:
            took = ~declined & (rng.random(n) < 0.02)
            option = extras[0]
            col[took] = np.nan
            states[took, j] = 3
            extra[took, j] = option.code
            extra_state[took, j] = option.state
        branched = np.zeros(n, dtype=bool)
        for condition in item.skip_if:
            if condition.item in position:
                branched |= np.isin(values[:, position[condition.item]], condition.values)
        col[branched] = np.nan
        states[branched, j] = 2
        extra[branched, j] = None
        extra_state[branched, j] = None
        values[:, j] = col
    return values, states, extra, extra_state


def seed(database_url: str, code: str, participants: int, seed_value: int) -> dict | None:
    """Load one synthetic study; returns row counts and seconds, or None when the study is already there."""
    engine = seed_engine(database_url)
    tables = db.metadata.tables
    study_t, site_t, tp_t = tables["study"], tables["site"], tables["timepoint"]
    part_t, asmt_t, resp_t, score_t = (tables["participant"], tables["assessment"], tables["item_response"],
                                       tables["score"])
    rng = np.random.default_rng(seed_value)
    now = datetime.now(UTC)
    today = now.date()
    started = time.perf_counter()
    with engine.begin() as conn:
        if conn.scalar(select(study_t.c.id).where(study_t.c.code == code)) is not None:
            engine.dispose()
            return None
        conn.execute(insert(study_t), {"code": code, "title": f"Benchmark study ({participants:,} participants)",
                                       "anchor_event": "Start of radiotherapy", "selections": {},
                                       "arms": [], "thresholds": default_thresholds(), "created_at": now})
        study_id = conn.scalar(select(study_t.c.id).where(study_t.c.code == code))
        conn.execute(insert(site_t), [{"study_id": study_id, "code": c, "name": n, "timezone": z}
                                      for c, n, z in SITES])
        conn.execute(insert(tp_t), [{"study_id": study_id, "code": c, "label": c, "position": p, "target_day": d,
                                     "window_before": b, "window_after": a, "instruments": list(INSTRUMENTS)}
                                    for p, (c, d, b, a) in enumerate(TIMEPOINTS, 1)])
        site_ids = conn.scalars(select(site_t.c.id).where(site_t.c.study_id == study_id).order_by(site_t.c.code)).all()
        timepoints = [SimpleNamespace(**row._mapping) for row in conn.execute(
            select(tp_t).where(tp_t.c.study_id == study_id).order_by(tp_t.c.position))]
        first = {t.name: (conn.scalar(select(func.max(t.c.id))) or 0) + 1 for t in (part_t, asmt_t, resp_t, score_t)}

    plan = plan_items()
    plan_json = tuple(PlanPart(inst.id, inst.version, tuple(items)) for inst, items in plan)  # the column's type

    # participants and assessments (Python loop: 4 assessments each, dates through schedule.window)
    people, assessments, completed, partial = [], [], [], []
    pid, aid = first["participant"], first["assessment"]
    for number in range(participants):
        recent = rng.random() < 0.05  # 5% enrolled recently: some windows open or still to come
        anchor = today - timedelta(days=int(rng.integers(-10, 230) if recent else rng.integers(230, 1000)))
        language = "es" if rng.random() < 0.3 else "en"
        withdrawn = rng.random() < 0.03
        people.append({"id": pid, "study_id": study_id, "site_id": site_ids[number % len(site_ids)],
                       "study_code": f"{code}-{number + 1:05d}", "language": language, "anchor_date": anchor,
                       "status": "withdrawn" if withdrawn else "active",
                       "withdrawn_reason": "moved away" if withdrawn else None, "created_at": now})
        for tp in timepoints:
            target, start, end = window(anchor, tp)
            row = {"id": aid, "participant_id": pid, "timepoint_id": tp.id, "target_date": target,
                   "window_start": start, "window_end": end, "status": "scheduled", "mode": None, "plan": None,
                   "started_at": None, "completed_at": None, "not_done_reason": None, "not_done_note": None}
            roll = rng.random()
            if end < today and (not withdrawn or tp.position <= 2):
                if roll < 0.95:
                    day = start + timedelta(days=int(rng.integers(0, (end - start).days + 1)))
                    when = datetime(day.year, day.month, day.day, int(rng.integers(7, 18)), int(rng.integers(0, 60)),
                                    tzinfo=UTC)
                    row.update(status="completed", mode=MODES[int(rng.integers(0, len(MODES)))], plan=plan_json,
                               started_at=when, completed_at=when + timedelta(minutes=int(rng.integers(12, 36))))
                    completed.append((aid, when, language, row["mode"]))
                elif roll < 0.98:
                    row.update(status="not_done", not_done_reason=NOT_DONE_REASONS[int(rng.integers(0, 4))])
                # else: left scheduled, so it shows as missed
            elif start <= today <= end and not withdrawn and roll < 0.4:
                when = now - timedelta(hours=int(rng.integers(1, 48)))
                row.update(status="in_progress", mode="self", plan=plan_json, started_at=when)
                partial.append((aid, when, language, "self"))
            assessments.append(row)
            aid += 1
        pid += 1

    counts = {"participant": len(people), "assessment": len(assessments), "item_response": 0, "score": 0}
    with engine.begin() as conn:
        for start in range(0, len(people), BATCH):
            conn.execute(insert(part_t), people[start:start + BATCH])
        for start in range(0, len(assessments), BATCH):
            conn.execute(insert(asmt_t), assessments[start:start + BATCH])
    del people, assessments

    # answers: one matrix per instrument for every completed assessment; partial ones answer the first instrument
    n = len(completed)
    matrices = [answer_matrix(inst, items, n, rng) for inst, items in plan]
    offsets = [timedelta(seconds=9 * j) for j in range(sum(len(items) for _, items in plan))]
    rid = first["item_response"]
    batch: list[dict] = []
    since_commit = 0
    conn = engine.connect()
    transaction = conn.begin()

    def flush(table, force: bool = False) -> None:
        nonlocal batch, transaction, since_commit
        if batch and (force or len(batch) >= BATCH):
            conn.execute(insert(table), batch)
            counts[table.name] += len(batch)
            since_commit += len(batch)
            batch = []
        if since_commit >= 10 * BATCH or (force and since_commit):
            transaction.commit()
            transaction = conn.begin()
            since_commit = 0

    lists = [(v.tolist(), s.tolist(), e.tolist(), es.tolist()) for v, s, e, es in matrices]
    for row_number, (assessment_id, when, language, mode) in enumerate(completed):
        position = 0
        for (inst, items), (values, states, extras, extra_states) in zip(plan, lists, strict=True):
            vals, sts, exs, ess = values[row_number], states[row_number], extras[row_number], extra_states[row_number]
            version = inst.version
            for j, item_id in enumerate(items):
                state = sts[j]
                value = vals[j]
                batch.append({"id": rid, "assessment_id": assessment_id, "instrument_id": inst.id,
                              "instrument_version": version, "item_id": item_id,
                              "value": None if value != value else int(value), "option_code": exs[j],
                              "state": ess[j] if state == 3 else ANSWER_STATES[state], "language": language,
                              "mode": mode, "answered_at": when + offsets[position]})
                rid += 1
                position += 1
            flush(resp_t)
    inst, items = plan[0]
    values, states, _, _ = answer_matrix(inst, items, len(partial), rng)
    for row_number, (assessment_id, when, language, mode) in enumerate(partial):
        for j, item_id in enumerate(items[: len(items) // 2]):
            value = values[row_number, j]
            batch.append({"id": rid, "assessment_id": assessment_id, "instrument_id": inst.id,
                          "instrument_version": inst.version, "item_id": item_id,
                          "value": None if np.isnan(value) else int(value), "option_code": None,
                          "state": ANSWER_STATES[states[row_number, j]], "language": language, "mode": mode,
                          "answered_at": when + offsets[j]})
            rid += 1
        flush(resp_t)
    flush(resp_t, force=True)
    del lists

    # scores: the vectorised library on all completed assessments of an instrument at once
    sid = first["score"]
    per_instrument = []
    for (inst, items), (values, _, _, _) in zip(plan, matrices, strict=True):
        result = score(inst, pd.DataFrame(values, columns=items))
        asked = set(items)
        scales = [s.code for s in inst.scales if not s.items or asked.intersection(s.items)]
        per_instrument.append((inst, scales, result.values[scales].to_numpy().tolist(),
                               result.status[scales].astype(str).to_numpy().tolist(),
                               result.n_items[scales].to_numpy().tolist()))
    for row_number, (assessment_id, when, _, _) in enumerate(completed):
        computed = when + timedelta(minutes=40)
        for inst, scales, values, statuses, used in per_instrument:
            vals, sts, ns = values[row_number], statuses[row_number], used[row_number]
            for j, scale in enumerate(scales):
                value = vals[j]
                batch.append({"id": sid, "assessment_id": assessment_id, "instrument_id": inst.id,
                              "instrument_version": inst.version, "scoring_version": ENGINE_VERSION,
                              "scale_code": scale, "value": None if value != value else value, "status": sts[j],
                              "n_items": int(ns[j]), "computed_at": computed})
                sid += 1
        flush(score_t)
    flush(score_t, force=True)
    transaction.commit()
    conn.close()
    loaded = time.perf_counter() - started
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in (part_t, asmt_t, resp_t, score_t):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                  f"(SELECT max(id) FROM {table.name}))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    counts.update(completed=len(completed), in_progress=len(partial), seconds=loaded,
                  total_seconds=time.perf_counter() - started)
    return counts


# --- one export, in its own process ---------------------------------------------------------------------------

def export_one(args) -> None:
    """Run one export through the service and print its figures as one JSON line (used in a subprocess)."""
    import tracemalloc

    from pro_app.exports import chunks as chunk_reads
    from pro_app.exports import datasets, service

    dataset, fmt = args.export_one
    app = make_app(args.database_url, Path(args.workdir) / "instance-child")
    timers = {"db": 0.0, "build": 0.0}
    chunk_rows: list[int] = []
    chunk_rss: list[float] = []

    def timed_db(fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timers["db"] += time.perf_counter() - start
        return wrapper

    # the data set's database reads (query, fetch and the DataFrame of the rows): timed, not changed
    for module, names in ((chunk_reads, ("_assessment_rows", "_language_rows")),
                          (datasets, ("_responses", "_scores", "_baseline_scores", "_corrected_items"))):
        for name in names:
            setattr(module, name, timed_db(getattr(module, name)))
    original_build = service.build

    def timed_build(*a, **k):
        chunks = original_build(*a, **k)
        while True:
            start = time.perf_counter()
            try:
                chunk = next(chunks)
            except StopIteration:
                timers["build"] += time.perf_counter() - start
                return
            timers["build"] += time.perf_counter() - start
            chunk_rows.append(len(chunk))
            chunk_rss.append(rss_mb())
            yield chunk

    service.build = timed_build
    out = Path(args.workdir) / f"{args.study}_{dataset}.{fmt}"
    with app.app_context():
        reset_peak_rss()
        rss_before = rss_mb()
        if args.tracemalloc:
            tracemalloc.start()
        start = time.perf_counter()
        export = service.prepare(args.study, dataset, fmt)
        with out.open("wb") as fh:
            for data in service.stream(export, actor="system", user_id=None, via="bench"):
                fh.write(data)
        seconds = time.perf_counter() - start
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    result = {"dataset": dataset, "format": fmt, "rows": export.rows, "seconds": seconds, "bytes": out.stat().st_size,
              "build": timers["build"], "db": timers["db"], "chunks": len(chunk_rows),
              "max_chunk_rows": max(chunk_rows, default=0), "rss_before": rss_before,
              "max_rss": peak_rss_mb(), "rss_first_chunk": chunk_rss[0] if chunk_rss else None,
              "rss_last_chunk": chunk_rss[-1] if chunk_rss else None, "traced_peak": traced_peak}
    out.unlink()
    print(json.dumps(result))


def baseline_wide(args) -> None:
    """The whole wide frame in memory, then pandas to_csv on it (best of --repeat); JSON line out."""
    from pro_app.exports import datasets

    app = make_app(args.database_url, Path(args.workdir) / "instance-child")
    out = Path(args.workdir) / "pandas_wide.csv"
    with app.app_context():
        reset_peak_rss()
        rss_before = rss_mb()
        start = time.perf_counter()
        study = datasets.study_by_code(args.study)
        frame = pd.concat(list(datasets.build(study, "wide")), ignore_index=True)
        build = time.perf_counter() - start
        build_peak = peak_rss_mb()
        start = time.perf_counter()
        joined = ("JOIN assessment a ON a.id = t.assessment_id JOIN participant p ON p.id = a.participant_id "
                  f"WHERE p.study_id = {int(study.id)}")
        connection = db.session.connection()
        raw_items = connection.exec_driver_sql(
            f"SELECT t.assessment_id, t.item_id, t.value FROM item_response t {joined}").fetchall()
        raw_scores = connection.exec_driver_sql(f"SELECT t.assessment_id, t.scale_code, t.value FROM score t {joined}")
        raw_scores = raw_scores.fetchall()
        raw_read = time.perf_counter() - start
        raw_rows, raw_score_rows = len(raw_items), len(raw_scores)
        del raw_items, raw_scores
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            frame.to_csv(out, index=False)
            times.append(time.perf_counter() - start)
    print(json.dumps({"rows": len(frame), "columns": frame.shape[1], "build": build, "to_csv": min(times),
                      "bytes": out.stat().st_size, "frame_mb": frame.memory_usage(deep=True).sum() / 2**20,
                      "rss_before": rss_before, "max_rss": build_peak, "raw_read": raw_read,
                      "raw_rows": raw_rows, "raw_score_rows": raw_score_rows}))
    out.unlink()


def child(args, *extra: str) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--database-url", args.database_url,
               "--workdir", args.workdir, "--repeat", str(args.repeat), *extra]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1],
                "stderr": done.stderr[-3000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_export(args, study: str, dataset: str, fmt: str, traced: bool) -> dict:
    result = child(args, "--study", study, "--export-one", dataset, fmt)
    if traced and "error" not in result:
        again = child(args, "--study", study, "--export-one", dataset, fmt, "--tracemalloc")
        result["traced_peak"] = again.get("traced_peak")
        result["traced_seconds"] = again.get("seconds")
    return result


# --- printing -------------------------------------------------------------------------------------------------

HEADER = (f"{'data set':<11}{'fmt':<8}{'rows':>11}{'chunks':>7}{'rows/chunk':>11}{'seconds':>9}{'rows/s':>10}"
          f"{'MB out':>8}{'build s':>9}{'db s':>7}{'write s':>9}{'RSS0 MB':>9}{'peak RSS':>9}{'+RSS MB':>8}"
          f"{'py peak MB':>11}")


def row_text(r: dict) -> str:
    if "error" in r:
        return f"{r['dataset']:<11}{r['format']:<8}  FAILED: {r['error']}"
    growth = r["max_rss"] - r["rss_before"]
    traced = f"{r['traced_peak']:.0f}" if r.get("traced_peak") is not None else "-"
    return (f"{r['dataset']:<11}{r['format']:<8}{r['rows']:>11,}{r['chunks']:>7}{r['max_chunk_rows']:>11,}"
            f"{r['seconds']:>9.2f}{r['rows'] / r['seconds']:>10,.0f}{r['bytes'] / 1e6:>8.1f}{r['build']:>9.2f}"
            f"{r['db']:>7.2f}{r['seconds'] - r['build']:>9.2f}{r['rss_before']:>9.0f}{r['max_rss']:>9.0f}"
            f"{growth:>8.0f}{traced:>11}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--scale-check", type=int, default=None,
                        help="participants of a second, smaller study for the memory comparison "
                             "(default: a quarter of --participants; 0: skip)")
    parser.add_argument("--database-url", help="e.g. postgresql+psycopg://user@host/db (default: a temporary "
                                               "SQLite file); an existing benchmark study there is reused")
    parser.add_argument("--repeat", type=int, default=1, help="best of N for the wide CSV export and pandas")
    parser.add_argument("--tracemalloc-runs", choices=("none", "small", "all"), default="small",
                        help="which exports run a second time under tracemalloc: none, those of the smaller "
                             "study (default), or all (tracemalloc slows these exports 3-9x)")
    parser.add_argument("--keep", help="keep the SQLite file in this folder (and reuse it next time)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--study", help=argparse.SUPPRESS)
    parser.add_argument("--export-one", nargs=2, metavar=("DATASET", "FORMAT"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline-wide", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_one:
        export_one(args)
        return
    if args.baseline_wide:
        baseline_wide(args)
        return

    with tempfile.TemporaryDirectory(prefix="bench_export_") as tmp:
        args.workdir = tmp
        if args.database_url is None:
            folder = Path(args.keep) if args.keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            args.database_url = f"sqlite:///{(folder / 'bench_export.sqlite3').resolve()}"
        app = make_app(args.database_url, Path(tmp) / "instance")
        with app.app_context():
            db.create_all()
            backend = db.engine.dialect.name
            db.engine.dispose()
        small = args.participants // 4 if args.scale_check is None else args.scale_check
        studies = [(f"BENCH-{args.participants}", args.participants)] + ([(f"BENCH-{small}", small)] if small else [])
        print(f"database: {backend} ({args.database_url.split('@')[-1] if backend != 'sqlite' else 'temporary file'})"
              f"; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}, "
              f"pandas {pd.__version__}")
        for code, n in studies:
            with app.app_context():  # the instrument library and the default thresholds live on the app
                counts = seed(args.database_url, code, n, args.seed + n)
            if counts is None:
                print(f"seed {code}: already in the database, reused")
                continue
            rows = counts["participant"] + counts["assessment"] + counts["item_response"] + counts["score"]
            print(f"seed {code}: {counts['participant']:,} participants, {counts['assessment']:,} assessments "
                  f"({counts['completed']:,} completed, {counts['in_progress']:,} in progress), "
                  f"{counts['item_response']:,} item_response rows, {counts['score']:,} score rows "
                  f"in {counts['total_seconds']:.1f} s ({rows / counts['seconds']:,.0f} rows/s inserted)")
        if backend == "sqlite":
            size = Path(args.database_url.removeprefix("sqlite:///")).stat().st_size
            print(f"database file: {size / 1e9:.2f} GB")

        code, n = studies[0]
        print(f"\nexports of {code} through pro_app.exports.service, each in a fresh process.\n"
              f"seconds: prepare + stream + write the file, database reads included; db s: the database reads "
              f"(query, fetch, rows to a DataFrame), which run one chunk ahead in a thread of their own, overlapping "
              f"the rest; build s: the time the export waited for chunks and shaped them; write s = seconds - build "
              f"s (writer: neutralise, timestamps, CSV / Parquet per chunk); RSS0: process RSS "
              f"before the export; peak RSS: the process's peak during the export (VmHWM, reset at the start); "
              f"+RSS = peak RSS - RSS0; py peak: tracemalloc peak of Python allocations, in a second run")
        print(HEADER)
        results = {}
        for dataset, fmt in RUNS:
            result = run_export(args, code, dataset, fmt, traced=args.tracemalloc_runs == "all")
            result.setdefault("dataset", dataset)
            result.setdefault("format", fmt)
            results[(dataset, fmt)] = result
            print(row_text(result), flush=True)
            if "error" in result:
                print("    " + result["stderr"].replace("\n", "\n    "))
        for _ in range(args.repeat - 1):
            again = run_export(args, code, "wide", "csv", traced=False)
            if "error" not in again and again["seconds"] < results[("wide", "csv")]["seconds"]:
                results[("wide", "csv")].update({k: again[k] for k in ("seconds", "build", "db")})

        base = child(args, "--study", code, "--baseline-wide")
        wide = results[("wide", "csv")]
        if "error" in base or "error" in wide:
            print(f"\nbaseline or wide export failed: {base.get('error') or wide.get('error')}")
        else:
            print(f"\nbaseline: the whole wide frame in memory ({base['rows']:,} rows x {base['columns']} columns, "
                  f"{base['frame_mb']:.0f} MB in pandas; peak RSS while building it "
                  f"+{base['max_rss'] - base['rss_before']:.0f} MB) built in {base['build']:.2f} s "
                  f"from the data set's chunks")
            print(f"pandas frame.to_csv(path, index=False): {base['to_csv']:.2f} s "
                  f"({base['rows'] / base['to_csv']:,.0f} rows/s, {base['bytes'] / 1e6:.1f} MB)")
            print(f"pro-app wide CSV export: {wide['seconds']:.2f} s ({wide['bytes'] / 1e6:.1f} MB): "
                  f"{wide['build']:.2f} s waiting for and shaping chunks + {wide['seconds'] - wide['build']:.2f} s "
                  f"writing; the database reads took {wide['db']:.2f} s in the read-ahead thread, overlapping both")
            print(f"ratio pro-app wide CSV export / pandas to_csv: {wide['seconds'] / base['to_csv']:.2f}x "
                  f"(target: at most 2x; the pro-app time includes the database reads, pandas' does not)")
            print(f"ratio of the writing part alone / pandas to_csv: "
                  f"{(wide['seconds'] - wide['build']) / base['to_csv']:.2f}x")
            print(f"floor for the reads: the {base['raw_rows']:,} (assessment, item, value) and "
                  f"{base['raw_score_rows']:,} (assessment, scale, value) rows wide needs, fetched with the bare "
                  f"driver in one query each: {base['raw_read']:.2f} s")

        if len(studies) > 1:
            small_code, small_n = studies[1]
            traced_small = args.tracemalloc_runs != "none"
            print(f"\nbounded memory: the same exports on {small_code} ({small_n:,} participants) vs {code} ({n:,}) "
                  f"(+RSS and py peak as above; py peak of the small study"
                  f"{' and of the full one' if args.tracemalloc_runs == 'all' else ''})")
            print(f"{'data set':<11}{'fmt':<8}{'rows small':>12}{'rows full':>12}{'s small':>9}{'s full':>9}"
                  f"{'+RSS small':>11}{'+RSS full':>10}{'py small':>9}{'py full':>9}"
                  f"{'RSS 1st/last chunk (full)':>27}")
            for dataset, fmt in RUNS:
                r_small = run_export(args, small_code, dataset, fmt, traced=traced_small)
                r_full = results[(dataset, fmt)]
                if "error" in r_small or "error" in r_full:
                    print(f"{dataset:<11}{fmt:<8}FAILED: {r_small.get('error') or r_full.get('error')}")
                    continue

                def peak(r):
                    return f"{r['traced_peak']:.0f}" if r.get("traced_peak") is not None else "-"

                chunks = (f"{r_full['rss_first_chunk']:.0f} / {r_full['rss_last_chunk']:.0f} MB"
                          if r_full["rss_first_chunk"] is not None else "-")
                print(f"{dataset:<11}{fmt:<8}{r_small['rows']:>12,}{r_full['rows']:>12,}{r_small['seconds']:>9.2f}"
                      f"{r_full['seconds']:>9.2f}{r_small['max_rss'] - r_small['rss_before']:>11.0f}"
                      f"{r_full['max_rss'] - r_full['rss_before']:>10.0f}{peak(r_small):>9}{peak(r_full):>9}"
                      f"{chunks:>27}", flush=True)
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"(other processes on this machine slow every figure alike)")


if __name__ == "__main__":
    main()
