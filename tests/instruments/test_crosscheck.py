"""Cross-check of the vectorised scoring engine against the naive reference (reference.py).

* large random data with many missing-data patterns, scored through the Python API and the CLI;
* Hypothesis property tests (ranges, monotonicity, column order).

The reference is written independently from SCORING.md; it does not read the YAML definitions or
the engine. Every value must agree within 1e-9 (NaN <=> None) and every status must be equal.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pro_app.cli import main as cli_main
from pro_app.instruments import get_instrument
from pro_app.instruments import score as engine_score
from tests.support import reference_scorer as ref

TOL = 1e-9
P_LEVELS = (0.0, 0.1, 0.3, 0.6, 0.95)
N_EORTC = 3000
N_PROCTCAE = 3000
N_CLI = 300
GATE_ITEMS = {"qlq_br45": {"q34": {1}, "q45": {1}}}


# ---------------------------------------------------------------------------------------------
# random data
# ---------------------------------------------------------------------------------------------
def random_eortc(instrument_id: str, n: int, seed: int) -> pd.DataFrame:
    """n administrations; per row, each item blank with probability p drawn from P_LEVELS.
    BR45 gate items q34 / q45 are 1 about 30 % of the time (before blanking)."""
    rng = np.random.default_rng(seed)
    spec = ref.INSTRUMENTS[instrument_id]
    items = spec["items"]
    p = rng.choice(P_LEVELS, size=n)
    data = {}
    gates = GATE_ITEMS.get(instrument_id, {})
    for item in items:
        lo, hi = spec["ranges"][item]
        col = rng.integers(lo, hi + 1, size=n).astype(float)
        if item in gates:
            col = np.where(rng.random(n) < 0.3, 1.0, col)
        col[rng.random(n) < p] = np.nan
        data[item] = col
    return pd.DataFrame(data, index=pd.Index([f"r{i}" for i in range(n)], name="row"))


def random_proctcae(n: int, seed: int) -> pd.DataFrame:
    """First item: blank with p, else 0 about 30 %, else 1-4. Follow-ups after an earlier 0: blank
    70 % (branched), otherwise answered anyway (0 about 30 %). Other follow-ups: blank with p,
    0 about 30 %, else 1-4. Presence items: blank with p, else 0/1."""
    rng = np.random.default_rng(seed)
    p = rng.choice(P_LEVELS, size=n)
    data = {}
    for term in ref.PROCTCAE_TERMS:
        earlier_zero = np.zeros(n, dtype=bool)
        for k, var in enumerate(term["variables"]):
            lo, hi = ref.PROCTCAE_ITEM_RANGE[var]
            if hi == 1:
                col = rng.integers(0, 2, size=n).astype(float)
                col[rng.random(n) < p] = np.nan
            else:
                col = np.where(rng.random(n) < 0.3, 0.0, rng.integers(1, 5, size=n).astype(float))
                blank_free = rng.random(n) < p
                blank_branched = rng.random(n) < 0.7
                blank = np.where(earlier_zero, blank_branched, blank_free) if k else blank_free
                col[blank] = np.nan
            earlier_zero |= col == 0
            data[var] = col
    return pd.DataFrame(data, index=pd.Index([f"r{i}" for i in range(n)], name="row"))


def random_answers(instrument_id: str, n: int, seed: int) -> pd.DataFrame:
    if instrument_id == "pro_ctcae":
        return random_proctcae(n, seed)
    return random_eortc(instrument_id, n, seed)


def row_dict(row) -> dict:
    return {k: (None if (v is None or (isinstance(v, float) and math.isnan(v))) else int(v)) for k, v in row.items()}


# ---------------------------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------------------------
def reference_frames(instrument_id: str, answers: pd.DataFrame):
    score_fn = ref.INSTRUMENTS[instrument_id]["score"]
    codes = ref.INSTRUMENTS[instrument_id]["codes"]
    values = np.full((len(answers), len(codes)), np.nan)
    status = np.empty((len(answers), len(codes)), dtype=object)
    for r, (_, row) in enumerate(answers.iterrows()):
        result = score_fn(row_dict(row))
        for c, code in enumerate(codes):
            v, s = result[code]
            values[r, c] = np.nan if v is None else v
            status[r, c] = s
    return (
        pd.DataFrame(values, index=answers.index, columns=codes),
        pd.DataFrame(status, index=answers.index, columns=codes),
    )


def describe(answers: pd.DataFrame, label) -> str:
    row = answers.loc[label]
    return str({k: int(v) for k, v in row.items() if not pd.isna(v)})


def mismatches(answers, eng_values, eng_status, ref_values, ref_status, limit=15):
    """List of human-readable disagreements (empty when engine and reference agree)."""
    out = []
    ev = eng_values[ref_values.columns].to_numpy(dtype=float)
    rv = ref_values.to_numpy(dtype=float)
    es = eng_status[ref_values.columns].astype(str).to_numpy()
    rs = ref_status.to_numpy().astype(str)
    both_nan = np.isnan(ev) & np.isnan(rv)
    close = np.isclose(ev, rv, rtol=0.0, atol=TOL) | both_nan
    bad = ~close | (es != rs)
    for r, c in zip(*np.nonzero(bad), strict=True):
        if len(out) >= limit:
            out.append(f"... {int(bad.sum()) - limit} more")
            break
        label = answers.index[r]
        out.append(
            f"{ref_values.columns[c]} row {label}: engine ({float(ev[r, c])!r}, {es[r, c]}) "
            f"vs reference ({float(rv[r, c])!r}, {rs[r, c]}); answers {describe(answers, label)}"
        )
    return out


def run_engine(instrument_id: str, answers: pd.DataFrame):
    inst = get_instrument(instrument_id)
    return engine_score(inst, answers)


INSTRUMENT_IDS = ["qlq_c30", "qlq_br45", "pro_ctcae"]


# ---------------------------------------------------------------------------------------------
# 1. large random cross-check through the Python API
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
def test_scale_codes_match(instrument_id):
    inst = get_instrument(instrument_id)
    assert set(inst.scale_codes) == set(ref.INSTRUMENTS[instrument_id]["codes"])
    assert set(inst.item_ids) == set(ref.INSTRUMENTS[instrument_id]["items"])


@pytest.mark.slow
@pytest.mark.parametrize("instrument_id, seed", [("qlq_c30", 301), ("qlq_br45", 4501), ("pro_ctcae", 8001)])
def test_engine_matches_reference_random(instrument_id, seed):
    n = N_PROCTCAE if instrument_id == "pro_ctcae" else N_EORTC
    answers = random_answers(instrument_id, n, seed)
    s = run_engine(instrument_id, answers)
    assert list(s.values.index) == list(answers.index)
    assert list(s.status.index) == list(answers.index)
    assert s.values.shape == s.status.shape == s.n_items.shape
    ref_values, ref_status = reference_frames(instrument_id, answers)
    assert not pd.isna(ref_status).any().any()
    problems = mismatches(answers, s.values, s.status, ref_values, ref_status)
    assert not problems, "\n".join(problems)
    # the random data really exercises every status the instrument can produce
    seen = set(np.unique(ref_status.to_numpy().astype(str)))
    expected = {"scored", "insufficient"} | ({"not_applicable"} if instrument_id == "qlq_br45" else set())
    assert expected <= seen


@pytest.mark.parametrize("instrument_id", ["qlq_c30", "qlq_br45"])
def test_items_used_for_scored_eortc_scales(instrument_id):
    """For a scored item scale, n_items is the number of answered applicable items."""
    answers = random_answers(instrument_id, 800, 77)
    s = run_engine(instrument_id, answers)
    detailed = ref.score_c30_detailed if instrument_id == "qlq_c30" else ref.score_br45_detailed
    problems = []
    for label, row in answers.iterrows():
        for code, (_, status, used) in detailed(row_dict(row)).items():
            if code == "SUMSC" or status != "scored":
                continue
            if int(s.n_items.at[label, code]) != used:
                problems.append(f"{code} {label}: engine {s.n_items.at[label, code]} vs {used}")
    assert not problems, "\n".join(problems[:15])


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
def test_edge_rows(instrument_id):
    """Empty row and a row with every item answered at its extremes."""
    items = ref.INSTRUMENTS[instrument_id]["items"]
    ranges = ref.INSTRUMENTS[instrument_id]["ranges"]
    answers = pd.DataFrame(
        [
            {i: np.nan for i in items},
            {i: float(ranges[i][0]) for i in items},
            {i: float(ranges[i][1]) for i in items},
        ],
        index=["empty", "low", "high"],
    )
    s = run_engine(instrument_id, answers)
    rv, rs = reference_frames(instrument_id, answers)
    problems = mismatches(answers, s.values, s.status, rv, rs)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# 2. the same comparison through the command line
# ---------------------------------------------------------------------------------------------
def write_answers_csv(path, answers: pd.DataFrame, ids):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", *answers.columns])
        for pid, (_, row) in zip(ids, answers.iterrows(), strict=True):
            w.writerow([pid, *("" if pd.isna(v) else str(int(v)) for v in row.to_numpy())])


def run_cli(args):

    runner = CliRunner()
    result = runner.invoke(cli_main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.slow
@pytest.mark.parametrize("instrument_id, seed", [("qlq_c30", 11), ("qlq_br45", 12), ("pro_ctcae", 13)])
def test_cli_matches_reference(tmp_path, instrument_id, seed):
    answers = random_answers(instrument_id, N_CLI, seed)
    # shuffle the item columns: the CLI must find items by name
    rng = np.random.default_rng(seed)
    answers = answers[list(rng.permutation(answers.columns))]
    ids = [f"P{i:05d}" for i in range(len(answers))]
    in_csv, out_csv = tmp_path / "in.csv", tmp_path / "out.csv"
    write_answers_csv(in_csv, answers, ids)
    run_cli(["score", str(in_csv), "--instrument", instrument_id, "-o", str(out_csv)])

    out = pd.read_csv(out_csv, dtype={0: str}, keep_default_na=True)
    assert out.columns[0] == "id"
    assert list(out.iloc[:, 0]) == ids
    codes = ref.INSTRUMENTS[instrument_id]["codes"]
    missing = [c for c in codes if c not in out.columns]
    assert not missing, f"scale columns missing from the CLI output: {missing}; got {list(out.columns)}"

    answers.index = pd.Index(ids)
    ref_values, ref_status = reference_frames(instrument_id, answers)
    values = out.set_index(out.columns[0])[codes].apply(pd.to_numeric, errors="raise")
    ev, rv = values.to_numpy(dtype=float), ref_values.to_numpy(dtype=float)
    bad = ~(np.isclose(ev, rv, rtol=0.0, atol=TOL) | (np.isnan(ev) & np.isnan(rv)))
    problems = [
        f"{codes[c]} {ids[r]}: cli {float(ev[r, c])!r} vs reference {float(rv[r, c])!r}; "
        f"answers {describe(answers, ids[r])}"
        for r, c in zip(*np.nonzero(bad), strict=True)
    ][:15]
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# 3. Hypothesis property tests
# ---------------------------------------------------------------------------------------------
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def eortc_row(instrument_id):
    spec = ref.INSTRUMENTS[instrument_id]
    return st.fixed_dictionaries({i: st.one_of(st.none(), st.integers(*spec["ranges"][i])) for i in spec["items"]})


def to_frame(rows, columns) -> pd.DataFrame:
    return pd.DataFrame(
        [[np.nan if r.get(c) is None else float(r[c]) for c in columns] for r in rows],
        columns=list(columns),
    )


def scale_members(instrument_id):
    """code -> set of items whose value the scale depends on (gate items included)."""
    members = {}
    if instrument_id == "qlq_c30":
        for code, _, items, _ in ref.C30_SCALES:
            members[code] = set(items)
        members["SUMSC"] = set().union(*(members[c] for c in ref.SUMSC_DIRECT + ref.SUMSC_REVERSED))
        return members, ref.C30_DIRECTION
    for code, _, items, _, gates in ref.BR45_SCALES:
        members[code] = set(items) | {g for _, g, _ in gates}
    return members, ref.BR45_DIRECTION


@pytest.mark.parametrize("instrument_id", ["qlq_c30", "qlq_br45"])
@PROPERTY_SETTINGS
@given(data=st.data())
def test_property_eortc_range(instrument_id, data):
    rows = data.draw(st.lists(eortc_row(instrument_id), min_size=1, max_size=25))
    answers = to_frame(rows, ref.INSTRUMENTS[instrument_id]["items"])
    s = run_engine(instrument_id, answers)
    v = s.values.to_numpy(dtype=float)
    scored = s.status.astype(str).to_numpy() == "scored"
    assert (scored == ~np.isnan(v)).all()
    assert (v[scored] >= 0.0).all() and (v[scored] <= 100.0).all()
    rv, rs = reference_frames(instrument_id, answers)
    assert not mismatches(answers, s.values, s.status, rv, rs)


@pytest.mark.parametrize("instrument_id", ["qlq_c30", "qlq_br45"])
@PROPERTY_SETTINGS
@given(data=st.data())
def test_property_eortc_monotone(instrument_id, data):
    """Raise one answered item by one step: every scale moves in its direction, statuses stay.
    Gate items are raised only from a value that does not gate anything out (so never 1 -> 2)."""
    spec = ref.INSTRUMENTS[instrument_id]
    base = data.draw(eortc_row(instrument_id))
    gates = GATE_ITEMS.get(instrument_id, {})
    variants, changed = [], []
    for item in spec["items"]:
        v = base[item]
        if v is None or v >= spec["ranges"][item][1]:
            continue
        if item in gates and v in gates[item]:
            continue
        variants.append({**base, item: v + 1})
        changed.append(item)
    if not variants:
        return
    answers = to_frame([base, *variants], spec["items"])
    s = run_engine(instrument_id, answers)
    members, direction = scale_members(instrument_id)
    values = s.values.to_numpy(dtype=float)
    status = s.status.astype(str).to_numpy()
    codes = list(s.values.columns)
    for k, item in enumerate(changed, start=1):
        assert (status[k] == status[0]).all(), (item, status[k], status[0])
        for c, code in enumerate(codes):
            before, after = values[0, c], values[k, c]
            if np.isnan(before):
                assert np.isnan(after)
                continue
            if item not in members[code]:
                assert after == pytest.approx(before, abs=TOL), (code, item)
            elif direction[code] > 0:
                assert after >= before - TOL, (code, item, before, after, base)
            else:
                assert after <= before + TOL, (code, item, before, after, base)


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_property_column_order(instrument_id, data):
    items = ref.INSTRUMENTS[instrument_id]["items"]
    if instrument_id == "pro_ctcae":
        rows = data.draw(st.lists(proctcae_row(), min_size=1, max_size=4))
    else:
        rows = data.draw(st.lists(eortc_row(instrument_id), min_size=1, max_size=10))
    answers = to_frame(rows, items)
    shuffled = answers[data.draw(st.permutations(list(items)))]
    a = run_engine(instrument_id, answers)
    b = run_engine(instrument_id, shuffled)
    assert list(a.values.columns) == list(b.values.columns)
    va, vb = a.values.to_numpy(dtype=float), b.values.to_numpy(dtype=float)
    assert ((va == vb) | (np.isnan(va) & np.isnan(vb))).all()
    assert (a.status.astype(str).to_numpy() == b.status.astype(str).to_numpy()).all()
    assert (a.n_items.to_numpy() == b.n_items.to_numpy()).all()
    rv, rs = reference_frames(instrument_id, shuffled)
    assert not mismatches(shuffled, b.values, b.status, rv, rs)


@st.composite
def proctcae_term_values(draw, term):
    values = []
    for var in term["variables"]:
        hi = ref.PROCTCAE_ITEM_RANGE[var][1]
        values.append(draw(st.one_of(st.none(), st.just(0), st.integers(0, hi))))
    return values


@st.composite
def proctcae_row(draw):
    row = {}
    for term in ref.PROCTCAE_TERMS:
        row.update(zip(term["variables"], draw(proctcae_term_values(term)), strict=True))
    return row


@PROPERTY_SETTINGS
@given(base=proctcae_row())
def test_property_proctcae_grades_and_monotone(base):
    """Grades lie in {0, 1, 2, 3}; raising an answered value that is already > 0, or the term's
    last item, keeps the branching pattern, so the status stays and the grade does not drop."""
    items = ref.PROCTCAE_ITEMS
    variants, changed = [], []
    for term in ref.PROCTCAE_SCORED_TERMS:
        last = term["variables"][-1]
        for var in term["variables"]:
            v = base[var]
            if v is None or v >= 4:
                continue
            if v > 0 or var == last:
                variants.append({**base, var: v + 1})
                changed.append((term["number"], var))
    answers = to_frame([base, *variants], items)
    s = run_engine("pro_ctcae", answers)
    values = s.values.to_numpy(dtype=float)
    status = s.status.astype(str).to_numpy()
    scored = status == "scored"
    assert (scored == ~np.isnan(values)).all()
    assert np.isin(values[scored], [0.0, 1.0, 2.0, 3.0]).all()
    codes = list(s.values.columns)
    for k, (number, var) in enumerate(changed, start=1):
        assert (status[k] == status[0]).all(), (var, base)
        c = codes.index(f"PROCTCAE_{number}_COMP")
        if not np.isnan(values[0, c]):
            assert values[k, c] >= values[0, c], (var, values[0, c], values[k, c], base)
        others = [j for j in range(len(codes)) if j != c]
        a, b = values[0, others], values[k, others]
        assert ((a == b) | (np.isnan(a) & np.isnan(b))).all()
    rv, rs = reference_frames("pro_ctcae", answers)
    assert not mismatches(answers, s.values, s.status, rv, rs)
