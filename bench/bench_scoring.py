"""Scoring benchmark: prints figures, asserts nothing.

1. Scores 1,000,000 QLQ-C30 and 1,000,000 QLQ-BR45 administrations in memory (administrations / s).
2. Times `pro-app score` on a 300,000-row QLQ-C30 file against the pandas floor measured in the same
   run: reading that file with pandas and writing a result of the same shape, and prints the ratio.

Run from the checkout to measure: .venv/bin/python -m bench.bench_scoring [--rows 1000000] [--file-rows 300000]
[--repeat 3]. With `-m` the checkout comes first on the import path (a plain `python bench/bench_scoring.py`
would time whichever pro_app is installed, possibly another checkout); the first line printed says which.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import pro_app.instruments
from pro_app.instruments import get_instrument, score


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


def bench_in_memory(rows: int, repeat: int) -> None:
    for instrument_id in ("qlq_c30", "qlq_br45"):
        inst = get_instrument(instrument_id)
        frame = random_answers(instrument_id, rows, missing=0.1, seed=1)
        seconds = best_of(repeat, lambda inst=inst, frame=frame: score(inst, frame))
        print(f"{instrument_id}: scored {rows:,} administrations in {seconds:.2f} s "
              f"= {rows / seconds:,.0f} administrations/s ({len(inst.scales)} scales each)")


def bench_file(rows: int, repeat: int) -> None:
    inst = get_instrument("qlq_c30")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "c30.csv"
        answers = random_answers("qlq_c30", rows, missing=0.1, seed=2)
        answers.insert(0, "id", [f"P{i:07d}" for i in range(rows)])
        answers.to_csv(source, index=False, float_format="%.0f")
        # A result of the same shape as pro-app's: the id plus one unrounded float column per scale.
        rng = np.random.default_rng(3)
        result = pd.DataFrame(rng.random((rows, len(inst.scales))) * 100, columns=list(inst.scale_codes))
        result[result < 5] = np.nan
        result.insert(0, "id", answers["id"])
        floor_out = Path(tmp) / "floor.csv"
        ours_out = Path(tmp) / "ours.csv"

        def floor() -> None:
            pd.read_csv(source)
            result.to_csv(floor_out, index=False, na_rep="")

        command = [sys.executable, "-m", "pro_app.cli", "score", str(source), "--instrument", "qlq_c30",
                   "-o", str(ours_out)]

        def ours() -> None:
            subprocess.run(command, check=True, capture_output=True)

        floor_s = best_of(repeat, floor)
        ours_s = best_of(repeat, ours)
        print(f"pandas floor (read {rows:,}-row C30 file + write a same-size result): {floor_s:.2f} s")
        print(f"pro-app score on the same file (whole command, interpreter start included): {ours_s:.2f} s")
        print(f"ratio pro-app score / pandas floor: {ours_s / floor_s:.2f}x (target: at most 2x)")
        print(f"output: {ours_out.stat().st_size / 1e6:.1f} MB; floor output: {floor_out.stat().st_size / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--file-rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"library measured: {Path(pro_app.instruments.__file__).parent}")
    bench_in_memory(args.rows, args.repeat)
    bench_file(args.file_rows, args.repeat)


if __name__ == "__main__":
    main()
