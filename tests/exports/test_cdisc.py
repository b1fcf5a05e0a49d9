"""The CDISC SDTM data sets on the demo study: `sdtm_qs` says what the items data set says, in QS form,
and keeps the SDTM variable rules; `suppqs` points at its records."""

from __future__ import annotations

import io
import re

import pandas as pd

from pro_app.exports import columns as C
from pro_app.exports import datasets as D
from tests.support.exports import export_bytes, read_csv, read_parquet, set_assessment

TEXT = {c.name: str for c in C.SDTM_QS + C.SUPPQS if c.type == "string"}


def qs(demo) -> pd.DataFrame:
    """Read from Parquet: CSV neutralises text starting with "-" (QSEVLINT "-P1W") against spreadsheet
    formulas."""
    return read_parquet(export_bytes(demo.app, "DEMO", "sdtm_qs", "parquet"))


def test_variable_names_and_labels_follow_the_sdtm_rules():
    for column in C.SDTM_QS + C.SUPPQS + C.ADSL:
        assert re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", column.name), column.name
        assert len(column.label) <= 40, column.name


def test_sdtm_qs_holds_every_item_row_with_codes_from_the_definitions(demo):
    frame = qs(demo)
    items = read_csv(export_bytes(demo.app, "DEMO", "items"), dtype={"instrument_version": str})
    assert len(frame[frame["QSTESTCD"] != "QSALL"]) == len(items)
    required = ["STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSTESTCD", "QSTEST", "VISITNUM"]
    assert list(frame.columns) == [c.name for c in C.SDTM_QS]
    assert frame[required].notna().all().all()
    assert (frame["DOMAIN"] == "QS").all() and (frame["STUDYID"] == "DEMO").all()
    assert frame.groupby("USUBJID")["QSSEQ"].apply(lambda s: s.is_unique and s.min() == 1).all()
    assert (frame["QSTESTCD"].str.len() <= 8).all() and (frame["QSTEST"].str.len() <= 40).all()
    with demo.app.app_context():
        study = D.study_by_code("DEMO")
        instruments = {i.id: i for i in D.study_instruments(study)}
    merged = items.reset_index(drop=True).join(frame[frame["QSTESTCD"] != "QSALL"].reset_index(drop=True))
    for row in merged.itertuples(index=False):
        item = instruments[row.instrument].item(row.item)
        assert item.cdisc.testcd == row.QSTESTCD and item.cdisc.test == row.QSTEST
        assert instruments[row.instrument].cdisc.category == row.QSCAT
        assert f"DEMO-{row.participant}" == row.USUBJID and row.visit == row.VISITNUM
        if row.state == "answered":
            assert row.value_label == row.QSORRES and int(row.QSSTRESN) == row.value
            assert str(int(row.value)) == row.QSSTRESC and pd.isna(row.QSSTAT)
        else:
            assert pd.isna(row.QSSTRESN)
        if row.state in ("declined", "branched", "not_reached"):
            assert row.QSSTAT == "NOT DONE" and pd.notna(row.QSREASND) and pd.isna(row.QSORRES)
        if row.state == "not_applicable" and item.gate is not None:  # ruled out by its gate, not asked
            assert (row.QSSTAT, row.QSREASND) == ("NOT DONE", "NOT APPLICABLE") and pd.isna(row.QSORRES)
        assert (not pd.isna(row.QSCBRFL) and row.QSCBRFL == "Y") == (row.state == "branched")
        expected = {"none": None, "past_week": "-P1W", "past_four_weeks": "-P4W", "past_7_days": "-P7D"}
        assert (None if pd.isna(row.QSEVLINT) else row.QSEVLINT) == expected[item.recall]
    assert (merged["state"] == "branched").any() and (merged["state"] == "answered").any()
    assert ((merged["state"] == "not_applicable") & merged["item"].isin(["q35", "q46", "q72", "q73"])).any()


def test_study_day_has_no_day_zero_and_lobxfl_is_once_per_test(demo):
    frame = qs(demo)
    assert (frame["QSDY"].dropna() != 0).all()
    flagged = frame[frame["QSLOBXFL"] == "Y"]
    assert len(flagged) > 0
    assert not flagged.duplicated(["USUBJID", "QSTESTCD"]).any()
    assert flagged["QSSTRESC"].notna().all()


def test_suppqs_gives_language_and_mode_of_qs_records(demo):
    frame, supp = qs(demo), read_csv(export_bytes(demo.app, "DEMO", "suppqs"), dtype=str)
    assert set(supp["QNAM"]) == {"QSLANG", "QSMODE"}
    assert (supp["RDOMAIN"] == "QS").all() and (supp["IDVAR"] == "QSSEQ").all()
    keys = set(zip(frame["USUBJID"], frame["QSSEQ"].astype(str), strict=True))
    assert set(zip(supp["USUBJID"], supp["IDVARVAL"], strict=True)) <= keys
    assert not supp.duplicated(["USUBJID", "IDVARVAL", "QNAM"]).any()
    assert set(supp.loc[supp["QNAM"] == "QSLANG", "QVAL"]) <= {"ENG", "SPA"}


def test_an_assessment_not_done_gives_a_qsall_record_per_instrument(app, create_study, create_participant):
    c30_study = create_study(code="C30QS", instruments=["qlq_c30"])
    participant = create_participant(c30_study)
    set_assessment(app, participant.assessments["baseline"], status="not_done", not_done_reason="too_ill")
    frame = read_csv(export_bytes(app, "C30QS", "sdtm_qs"), dtype=TEXT)
    qsall = frame[frame["QSTESTCD"] == "QSALL"]
    assert len(qsall) == 1
    row = qsall.iloc[0]
    assert row["QSSTAT"] == "NOT DONE" and row["QSREASND"] == "SUBJECT TOO ILL" and row["VISITNUM"] == 1
    assert row["QSCAT"] == "EORTC QLQ-C30" and pd.isna(row["QSORRES"])


def test_adsl_has_one_record_per_participant_from_the_subject_data(demo):
    adsl = read_parquet(export_bytes(demo.app, "DEMO", "adsl", "parquet"))
    subjects = read_parquet(export_bytes(demo.app, "DEMO", "subjects", "parquet"))
    assert list(adsl.columns) == [c.name for c in C.ADSL]
    assert len(adsl) == len(subjects) and adsl["USUBJID"].is_unique
    assert list(adsl["USUBJID"]) == [f"DEMO-{p}" for p in subjects["participant"]]
    assert list(adsl["TRT01P"].fillna("")) == list(subjects["arm"].fillna(""))
    assert list(adsl["RFSTDT"]) == list(subjects["anchor_date"])
    assert list(adsl["EOSSTT"] == "DISCONTINUED") == list(subjects["status"] == "withdrawn")
    assert list(adsl["DTHFL"].fillna("") == "Y") == list(subjects["death_date"].notna())
    assert set(adsl["PROFL"]) <= {"Y", "N"} and (adsl["ENRLFL"] == "Y").all()
    qs_subjects = set(qs(demo)["USUBJID"])
    assert qs_subjects <= set(adsl["USUBJID"])


def test_evaluation_intervals_reach_the_csv_as_written(demo):
    """QSEVLINT ("-P1W") starts with a minus, as a formula would: the CSV must not prefix it, while a real
    formula in a text cell still is (writers.neutralise)."""
    text = pd.read_csv(io.BytesIO(export_bytes(demo.app, "DEMO", "sdtm_qs")), dtype=str, keep_default_na=False)
    intervals = set(text["QSEVLINT"]) - {""}
    assert intervals and all(re.fullmatch(r"-P\d+[WD]", v) for v in intervals), intervals
