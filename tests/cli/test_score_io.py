"""`pro-app score` reads and writes through pyarrow, and starts without the web application.

The values must be those of the in-memory engine, bit for bit: every score read back from the written file is
the same double, and every blank is a blank. The command must not import Flask (or pandas) to do it.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from pro_app.cli import main
from pro_app.instruments import get_instrument, score

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "c30_sample.csv"


def random_c30(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    inst = get_instrument("qlq_c30")
    columns = {}
    for item in inst.items:
        values = np.array(item.option_set.values, dtype=float)
        column = values[rng.integers(0, len(values), rows)]
        column[rng.random(rows) < rng.choice([0.0, 0.2, 0.6])] = np.nan
        columns[item.id] = column
    return pd.DataFrame(columns)


def write_answers(path: Path, ids: list[str], answers: pd.DataFrame, blank: dict[str, str]) -> None:
    """Write answers as text; a NaN is written as `blank[item]` (default empty), so blanks take every form."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", *answers.columns])
        for ident, row in zip(ids, answers.itertuples(index=False), strict=True):
            writer.writerow([ident, *(blank.get(c, "") if np.isnan(v) else f"{v:.0f}"
                                      for c, v in zip(answers.columns, row, strict=True))])


def read_back(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"id": str}, keep_default_na=False, na_values=[""])


def test_written_scores_read_back_bit_for_bit_equal_to_the_engine(tmp_path):
    answers = random_c30(2000, seed=7)
    ids = [f"P{k:05d}" for k in range(len(answers))]
    ids[3], ids[4] = 'site "A", 12', "0042"  # an id that needs quotes; one that looks like a number
    source = tmp_path / "answers.csv"
    # q1 blanks written as NA, q2 blanks as a space (a text column), the others empty.
    write_answers(source, ids, answers, {"q1": "NA", "q2": " "})
    out = tmp_path / "scores.csv"

    result = CliRunner().invoke(main, ["score", str(source), "--instrument", "qlq_c30", "-o", str(out)])

    assert result.exit_code == 0, result.stderr
    written = read_back(out.read_text(encoding="utf-8"))
    expected = score(get_instrument("qlq_c30"), answers).values
    assert list(written["id"]) == ids
    assert list(written.columns[1:]) == list(expected.columns)
    got, want = written.iloc[:, 1:].to_numpy(), expected.to_numpy()
    assert (np.isnan(got) == np.isnan(want)).all()
    assert (got[~np.isnan(got)].view(np.uint64) == want[~np.isnan(want)].view(np.uint64)).all()


def test_a_line_break_inside_a_quoted_id_and_numbers_written_as_text(tmp_path):
    """The fast read (straight to floats, in parallel) falls back without changing a value: an id holding a
    line break stays one row, and "2.0", " 3" and "4 " are the answers 2, 3 and 4."""
    answers = random_c30(300, seed=11)
    ids = [f"P{k:04d}" for k in range(len(answers))]
    ids[5] = "clinic A\nroom 2"
    plain = tmp_path / "plain.csv"
    write_answers(plain, [i.replace("\n", " ") for i in ids], answers, {})
    texts = tmp_path / "texts.csv"
    lines = plain.read_text(encoding="utf-8").splitlines()
    lines[6] = '"clinic A\nroom 2"' + lines[6][len("clinic A room 2"):]
    cells = [line.split(",") for line in lines]
    q1 = cells[0].index("q1")
    for row, spelled in ((1, "{}.0"), (2, " {}"), (3, "{} ")):
        if cells[row][q1]:
            cells[row][q1] = spelled.format(cells[row][q1])
    texts.write_text("\n".join(",".join(c) for c in cells) + "\n", encoding="utf-8")

    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(main, ["score", str(texts), "--instrument", "qlq_c30", "-o", str(out)])

    assert result.exit_code == 0, result.stderr
    written = read_back(out.read_text(encoding="utf-8"))
    expected = score(get_instrument("qlq_c30"), answers).values
    assert list(written["id"]) == ids
    got, want = written.iloc[:, 1:].to_numpy(), expected.to_numpy()
    assert (np.isnan(got) == np.isnan(want)).all()
    assert (got[~np.isnan(got)] == want[~np.isnan(want)]).all()


def test_input_with_a_byte_order_mark_keeps_its_id_column_name(tmp_path):
    source = tmp_path / "excel.csv"
    source.write_bytes(b"\xef\xbb\xbf" + SAMPLE.read_bytes())
    result = CliRunner().invoke(main, ["score", str(source), "--instrument", "qlq_c30"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("id,QL2,")
    assert read_back(result.stdout)["id"].tolist() == ["P001", "P002", "P003", "P004", "P005"]


def imported_by(*argv: str) -> set[str]:
    """The top-level modules a fresh interpreter has imported after running `pro-app argv`."""
    code = ("import sys\nfrom pro_app.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT,
                          check=True)
    return set(done.stderr.split())


def test_help_and_score_do_not_start_the_web_application(tmp_path):
    for argv in (["--help"], ["score", str(SAMPLE), "--instrument", "qlq_c30", "-o", str(tmp_path / "s.csv")],
                 ["instruments", "list"]):
        modules = imported_by(*argv)
        assert not modules & {"flask", "sqlalchemy", "matplotlib", "waitress"}, (argv, modules)
    assert "pandas" not in imported_by("score", str(SAMPLE), "--instrument", "qlq_c30", "-o", str(tmp_path / "s.csv"))
    assert (tmp_path / "s.csv").read_text(encoding="utf-8").startswith("id,QL2,")
