"""ADaM ADQS on the demo study: one record per participant, parameter and assessment, its AVAL the engine's
score exactly, baseline and change as the ADaM rules say, deterioration by the meaningful change, and the
treatment variables from the arm."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pro_app.exports import columns as C
from pro_app.exports import datasets as D
from pro_app.exports.adqs import COMPOSITE_WORSENING, criterion
from pro_app.extensions import db
from pro_app.models import Participant, Study
from pro_app.results.services import MEANINGFUL_CHANGE
from tests.support.exports import c30_answers, export_bytes, fill, read_parquet, run_cli


@pytest.fixture(scope="module")
def adqs(demo) -> pd.DataFrame:
    return read_parquet(export_bytes(demo.app, "DEMO", "adqs", "parquet"))


@pytest.fixture(scope="module")
def scores(demo) -> pd.DataFrame:
    return read_parquet(export_bytes(demo.app, "DEMO", "scores", "parquet"))


def test_variable_names_and_labels_follow_the_adam_rules():
    for column in C.ADQS:
        assert re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", column.name), column.name
        assert len(column.label) <= 40, column.name


def test_one_record_per_score_with_the_exact_value(demo, adqs, scores):
    assert list(adqs.columns) == [c.name for c in C.ADQS]
    assert len(adqs) == len(scores) > 0
    with demo.app.app_context():
        study = D.study_by_code("DEMO")
        paramcd = {s.code: s.paramcd or s.code for i in D.study_instruments(study) for s in i.scales}
    keyed = scores.assign(USUBJID="DEMO-" + scores["participant"], PARAMCD=scores["scale"].map(paramcd),
                          SRCSEQ=scores["assessment_id"])
    merged = adqs.merge(keyed, on=["USUBJID", "PARAMCD", "SRCSEQ"], how="outer", validate="one_to_one",
                        indicator=True)
    assert (merged["_merge"] == "both").all()
    both = merged["value"].notna()
    assert (merged["AVAL"].isna() == merged["value"].isna()).all()
    assert (merged.loc[both, "AVAL"].to_numpy() == merged.loc[both, "value"].to_numpy()).all()  # bit for bit
    assert (merged["AVISITN"] == merged["visit"]).all()
    assert (merged["PARAMCD"].str.len() <= 8).all() and merged["PARAMCD"].str.fullmatch(r"[A-Z][A-Z0-9]*").all()
    assert not adqs.duplicated(["USUBJID", "PARAMCD", "AVISITN"]).any()
    assert adqs.groupby("USUBJID")["ASEQ"].apply(lambda s: list(s) == list(range(1, len(s) + 1))).all()
    assert adqs["PARAMCD"].str.startswith("PRCT").any()  # PRO-CTCAE composites are parameters too


def test_baseline_change_and_one_ablfl_per_parameter(adqs):
    flagged = adqs[adqs["ABLFL"] == "Y"]
    assert len(flagged) > 0 and not flagged.duplicated(["USUBJID", "PARAMCD"]).any()
    assert (flagged["AVISITN"] == 1).all() and flagged["AVAL"].notna().all()
    base = flagged.set_index(["USUBJID", "PARAMCD"])["AVAL"]
    expected = pd.Series([base.get(k, np.nan) for k in zip(adqs["USUBJID"], adqs["PARAMCD"], strict=True)])
    assert np.array_equal(adqs["BASE"].to_numpy(), expected.to_numpy(), equal_nan=True)
    post = adqs["AVISITN"] > 1
    assert adqs.loc[~post, "CHG"].isna().all()
    chg = adqs.loc[post, "AVAL"] - adqs.loc[post, "BASE"]
    assert np.array_equal(adqs.loc[post, "CHG"].to_numpy(), chg.to_numpy(), equal_nan=True)
    with_base = post & adqs["BASE"].notna() & (adqs["BASE"] != 0) & adqs["AVAL"].notna()
    assert with_base.any()
    assert np.allclose(adqs.loc[with_base, "PCHG"], 100 * chg[with_base] / adqs.loc[with_base, "BASE"])
    assert adqs.loc[adqs["BASE"] == 0, "PCHG"].isna().all()
    assert ((adqs["ANL01FL"] == "Y") == adqs["AVAL"].notna()).all()


def test_deterioration_flag_uses_the_meaningful_change_and_direction(demo, adqs):
    with demo.app.app_context():
        study = D.study_by_code("DEMO")
        scales = {s.paramcd or s.code: s for i in D.study_instruments(study) for s in i.scales}
    for row in adqs[adqs["CHG"].notna()].itertuples(index=False):
        scale = scales[row.PARAMCD]
        assert criterion(scale) == row.CRIT1
        if scale.type == "composite":
            worse = row.CHG >= COMPOSITE_WORSENING
        elif scale.higher_is_better:
            worse = row.CHG <= -MEANINGFUL_CHANGE
        else:
            worse = row.CHG >= MEANINGFUL_CHANGE
        assert ("Y" if worse else "N") == row.CRIT1FL, row
    assert adqs.loc[adqs["CHG"].isna(), "CRIT1FL"].isna().all()
    assert set(adqs["CRIT1FL"].dropna()) == {"Y", "N"}


def test_treatment_dates_and_study_day_come_from_the_subject(demo, adqs):
    adsl = read_parquet(export_bytes(demo.app, "DEMO", "adsl", "parquet")).set_index("USUBJID")
    arm = adqs["USUBJID"].map(adsl["TRT01P"])
    for name in ("TRT01P", "TRT01A", "TRTP", "TRTA"):
        assert list(adqs[name].fillna("")) == list(arm.fillna(""))
    dated = adqs[adqs["ADT"].notna()]
    start = dated["USUBJID"].map(adsl["RFSTDT"])
    days = [(a - s).days for a, s in zip(dated["ADT"], start, strict=True)]
    assert list(dated["ADY"]) == [d + 1 if d >= 0 else d for d in days]
    assert (adqs["SRCDOM"] == "SCORES").all() and (adqs["SRCVAR"] == "value").all()


def test_a_hand_made_participant_gets_baseline_change_and_deterioration(app, create_study, create_participant):
    """Physical functioning (PF2) of every item 1 is 100; every item 3 gives 33.33: worse by 66.67 points."""
    study = create_study(code="ADQS1", instruments=["qlq_c30"])
    participant = create_participant(study)
    with app.app_context():
        db.session.get(Study, study.id).arms = ["A", "B"]
        db.session.get(Participant, participant.id).arm = "B"
        db.session.commit()
    fill(app, participant.assessments["baseline"], c30_answers(1))
    fill(app, participant.assessments["wk12"], c30_answers(3))
    frame = read_parquet(export_bytes(app, "ADQS1", "adqs", "parquet"))
    pf = frame[frame["PARAMCD"] == "C30PF2"].set_index("AVISITN")
    assert pf.loc[1, "AVAL"] == 100 and pf.loc[1, "ABLFL"] == "Y" and pd.isna(pf.loc[1, "CHG"])
    assert pf.loc[2, "BASE"] == 100 and pf.loc[2, "CRIT1FL"] == "Y"
    assert pf.loc[2, "CHG"] == pf.loc[2, "AVAL"] - 100 and pf.loc[2, "AVAL"] == pytest.approx(100 / 3)
    assert (frame["TRTP"] == "B").all() and (frame["TRT01A"] == "B").all()


def test_a_timepoint_filter_keeps_the_baseline_value(demo, adqs):
    later = read_parquet(export_bytes(demo.app, "DEMO", "adqs", "parquet", D.Filters(timepoints=("wk12",))))
    assert len(later) > 0 and (later["AVISITN"] != 1).all() and later["BASE"].notna().any()
    whole = adqs.set_index(["USUBJID", "PARAMCD", "AVISITN"])
    for row in later.itertuples(index=False):
        assert np.array_equal([row.BASE], [whole.loc[(row.USUBJID, row.PARAMCD, row.AVISITN), "BASE"]],
                              equal_nan=True)


def test_the_command_line_writes_adqs_as_sas_transport(demo, tmp_path):
    out = tmp_path / "adqs.xpt"
    result = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "adqs", "--format", "xpt",
                     "-o", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_sas(out, format="xport", encoding="utf-8")
    assert {"PARAMCD", "AVAL", "BASE", "CHG", "ABLFL", "CRIT1FL"} <= set(frame.columns)
