"""Scoring benchmark: prints figures and their ratios to floors measured in the same run; asserts nothing.

1. In memory: scores 1,000,000 QLQ-C30 administrations with the engine (`score`, from a DataFrame, and
   `score_matrix`, from the float matrix `pro-app score` builds) against a plain NumPy computation of the same
   16 scales with the half rule (the floor), and 1,000,000 QLQ-BR45 administrations.
2. `pro-app score` on a 300,000-row QLQ-C30 file against the pyarrow floor: a separate interpreter that
   reads the file with pyarrow and writes a same-shape result (the id plus one unrounded float column per
   scale, some blank) with pyarrow — both whole commands, interpreter start included.
3. `pro-app score --instrument pro_ctcae` on 5,000 rows with every PRO-CTCAE term, end to end.
4. `pro-app --help`, against a bare interpreter start.

Run from the checkout to measure: .venv/bin/python -m bench.bench_scoring [--rows 1000000] [--file-rows 300000]
[--repeat 5]. With `-m` the checkout comes first on the import path (a plain `python bench/bench_scoring.py`
would time whichever pro_app is installed, possibly another checkout); the first line printed says which, and
the commands timed in subprocesses import the same one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import pro_app.instruments
from pro_app.instruments import get_instrument, score

#: The pyarrow floor of `pro-app score`: read the answers, write id + one unrounded float column per scale.
FLOOR_SCRIPT = """
import sys
import numpy as np, pyarrow as pa, pyarrow.csv as pacsv
table = pacsv.read_csv(sys.argv[1])
n, scales = table.num_rows, int(sys.argv[3])
rng = np.random.default_rng(3)
columns = {"id": table.column(0)}
for k in range(scales):
    values = rng.random(n) * 100
    columns[f"S{k}"] = pa.Array.from_buffers(pa.float64(), n, [pa.py_buffer(np.packbits(values >= 5,
                                             bitorder="little")), pa.py_buffer(values)])
pacsv.write_csv(pa.table(columns), sys.argv[2], pacsv.WriteOptions(quoting_style="none"))
"""


def random_answers(instrument_id: str, rows: int, missing: float, seed: int) -> pd.DataFrame:
    """Random valid answers with a share of blanks, one column per item."""
    rng = np.random.default_rng(seed)
    inst = get_instrument(instrument_id)
    columns = {}
    for item in inst.items:
        values = np.array(item.option_set.values, dtype=float)
        col = values[rng.integers(0, len(values), rows)]
        col[rng.random(rows) < missing] = np.nan
        columns[item.id] = col
    return pd.DataFrame(columns)


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def numpy_c30(x: np.ndarray, column: dict[str, int]) -> dict[str, np.ndarray]:
    """The floor: the QLQ-C30 scales with the half rule in plain NumPy (SCORING.md §1), values only."""
    def scale(items: list[str], functional: bool) -> np.ndarray:
        block = x[:, [column[i] for i in items]]
        answered = ~np.isnan(block)
        n = answered.sum(axis=1)
        raw = np.where(answered, block, 0.0).sum(axis=1) / np.maximum(n, 1)
        span = 6.0 if items[0] in ("q29", "q30") else 3.0
        linear = (raw - 1.0) / span * 100.0
        return np.where(2 * n >= len(items), 100.0 - linear if functional else linear, np.nan)

    functional = {"PF2": ["q1", "q2", "q3", "q4", "q5"], "RF2": ["q6", "q7"], "EF": ["q21", "q22", "q23", "q24"],
                  "CF": ["q20", "q25"], "SF": ["q26", "q27"]}
    symptom = {"QL2": ["q29", "q30"], "FA": ["q10", "q12", "q18"], "NV": ["q14", "q15"], "PA": ["q9", "q19"],
               "DY": ["q8"], "SL": ["q11"], "AP": ["q13"], "CO": ["q16"], "DI": ["q17"], "FI": ["q28"]}
    out = {code: scale(items, True) for code, items in functional.items()}
    out.update({code: scale(items, False) for code, items in symptom.items()})
    parts = ["PF2", "RF2", "EF", "CF", "SF", "FA", "NV", "PA", "DY", "SL", "AP", "CO", "DI"]
    total = sum(out[c] if c in functional else 100.0 - out[c] for c in parts)
    out["SUMSC"] = total / len(parts)  # NaN when any part is
    return out


def bench_in_memory(rows: int, repeat: int) -> None:
    inst = get_instrument("qlq_c30")
    frame = random_answers("qlq_c30", rows, missing=0.1, seed=1)
    x = frame[list(inst.item_ids)].to_numpy(dtype=np.float64)
    column = {item_id: j for j, item_id in enumerate(inst.item_ids)}
    floor_s = best_of(repeat, lambda: numpy_c30(x, column))
    ours_s = best_of(repeat, lambda: score(inst, frame))
    print(f"qlq_c30 NumPy floor (16 scales, half rule, values only): {rows / floor_s:,.0f} administrations/s "
          f"({floor_s:.3f} s for {rows:,})")
    print(f"qlq_c30 pro-app score() from a DataFrame (values, statuses, items used): {rows / ours_s:,.0f} "
          f"administrations/s ({ours_s:.3f} s); ratio to the NumPy floor: {ours_s / floor_s:.2f}x (target ≤ 1.5x)")
    score_matrix = getattr(pro_app.instruments.scoring, "score_matrix", None)
    if score_matrix is not None:
        matrix_s = best_of(repeat, lambda: score_matrix(inst, x))
        print(f"qlq_c30 pro-app score_matrix() from the float matrix: {rows / matrix_s:,.0f} administrations/s "
              f"({matrix_s:.3f} s); ratio to the NumPy floor: {matrix_s / floor_s:.2f}x")
    inst = get_instrument("qlq_br45")
    frame = random_answers("qlq_br45", rows, missing=0.1, seed=1)
    seconds = best_of(repeat, lambda: score(inst, frame))
    print(f"qlq_br45: scored {rows:,} administrations in {seconds:.2f} s = {rows / seconds:,.0f} "
          f"administrations/s ({len(inst.scales)} scales each)")


def run_command(*args: str) -> None:
    subprocess.run([sys.executable, *args], check=True, capture_output=True)


def bench_file(rows: int, repeat: int, tmp: Path) -> None:
    inst = get_instrument("qlq_c30")
    source = tmp / "c30.csv"
    answers = random_answers("qlq_c30", rows, missing=0.1, seed=2)
    answers.insert(0, "id", [f"P{i:07d}" for i in range(rows)])
    answers.to_csv(source, index=False, float_format="%.0f")
    floor_script = tmp / "floor.py"
    floor_script.write_text(FLOOR_SCRIPT, encoding="utf-8")
    floor_out, ours_out = tmp / "floor.csv", tmp / "ours.csv"
    floor_s = best_of(repeat, lambda: run_command(str(floor_script), str(source), str(floor_out),
                                                  str(len(inst.scales))))
    ours_s = best_of(repeat, lambda: run_command("-m", "pro_app.cli", "score", str(source), "--instrument",
                                                 "qlq_c30", "-o", str(ours_out)))
    print(f"pyarrow floor (interpreter + read the {rows:,}-row C30 file + write a same-shape result): {floor_s:.2f} s")
    print(f"pro-app score on the same file (whole command, interpreter start included): {ours_s:.2f} s")
    print(f"ratio pro-app score / pyarrow floor: {ours_s / floor_s:.2f}x (target: at most 1.5x)")
    print(f"output: {ours_out.stat().st_size / 1e6:.1f} MB; floor output: {floor_out.stat().st_size / 1e6:.1f} MB")


def bench_proctcae(rows: int, repeat: int, tmp: Path) -> None:
    inst = get_instrument("pro_ctcae")
    source = tmp / "proctcae.csv"
    answers = random_answers("pro_ctcae", rows, missing=0.05, seed=4)
    answers.insert(0, "id", [f"P{i:07d}" for i in range(rows)])
    answers.to_csv(source, index=False, float_format="%.0f")
    terms = len({item.term for item in inst.items})
    seconds = best_of(repeat, lambda: run_command("-m", "pro_app.cli", "score", str(source), "--instrument",
                                                  "pro_ctcae", "-o", str(tmp / "proctcae_scores.csv")))
    print(f"pro-app score --instrument pro_ctcae, {rows:,} rows × {terms} terms ({len(inst.items)} items, "
          f"{len(inst.scales)} composites), end to end: {seconds:.2f} s (ProAE toxScores took 57.5 s here: "
          f"{57.5 / seconds:.0f}x)")


def bench_help(repeat: int) -> None:
    bare_s = best_of(repeat, lambda: run_command("-c", "pass"))
    help_s = best_of(repeat, lambda: run_command("-m", "pro_app.cli", "--help"))
    print(f"pro-app --help: {help_s:.3f} s (target < 0.5 s); a bare interpreter start: {bare_s:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--file-rows", type=int, default=300_000)
    parser.add_argument("--proctcae-rows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    checkout = Path(pro_app.instruments.__file__).parents[2]
    print(f"library measured: {Path(pro_app.instruments.__file__).parent}")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(checkout), os.environ.get("PYTHONPATH", "")])
    bench_help(args.repeat)
    bench_in_memory(args.rows, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        bench_file(args.file_rows, args.repeat, Path(tmp))
        bench_proctcae(args.proctcae_rows, args.repeat, Path(tmp))


if __name__ == "__main__":
    main()
