"""The CDISC SDTM data sets: `sdtm_qs` (SDTMIG 3.4 QS, one record per item per assessment, and a QSALL
record per instrument of an assessment not done) and `suppqs` (language and mode of each QS record).
Test codes, short names and categories come from the instrument definitions' `cdisc` blocks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from sqlalchemy import select

from ..instruments import Instrument
from ..models import Participant, Study
from . import bulk, chunks
from . import columns as C
from .chunks import Filters
from .layout import study_instruments

REASONS = {  # QSREASND of an item not answered, by item state
    "declined": "DECLINED BY SUBJECT", "branched": "LOGICALLY SKIPPED ITEM", "not_reached": "NOT REACHED",
    "not_applicable": "NOT APPLICABLE",  # gated out (SCORING.md §2)
}
NOT_DONE = {  # QSREASND of an assessment not done, by pro-app's reason
    "patient_refused": "SUBJECT REFUSED", "too_ill": "SUBJECT TOO ILL", "staff_error": "STAFF ERROR",
    "outside_window": "OUTSIDE WINDOW", "device_failure": "DEVICE FAILURE", "other": "OTHER",
}
LANGUAGES = {"en": "ENG", "es": "SPA"}  # ISO 639-2
MODES = {"self": "ELECTRONIC SELF-ADMINISTERED", "assisted": "INTERVIEWER-ADMINISTERED",
         "paper": "PAPER SELF-ADMINISTERED"}


def usubjid(study_code: str, participant: str) -> str:
    return f"{study_code}-{participant}"


def test_codes(instrument: Instrument) -> dict[str, tuple[str, str]]:
    """Item id -> (QSTESTCD, QSTEST); an instrument without a cdisc block gets sponsor codes from its id
    and the item's position, and the item text cut to 40 characters."""
    if instrument.cdisc is not None:
        return {i.id: (i.cdisc.testcd, i.cdisc.test) for i in instrument.items}
    prefix = "".join(ch for ch in instrument.id.upper() if ch.isalnum())[:5]
    return {i.id: (f"{prefix}{n + 1:03d}", i.text.en[:40]) for n, i in enumerate(instrument.items)}


def category(instrument: Instrument) -> str:
    return instrument.cdisc.category if instrument.cdisc is not None else instrument.title.en


def _intervals(instrument: Instrument) -> dict[str, str]:
    intervals = instrument.cdisc.evaluation_intervals if instrument.cdisc is not None else {}
    return {i.id: intervals.get(i.recall, "") for i in instrument.items}


def _subjects(participant_ids: list[int]) -> pd.DataFrame:
    return bulk.query_frame(select(Participant.id, Participant.anchor_date)
                            .where(Participant.id.in_(participant_ids)), ["participant_id", "anchor_date"])


def _local(stamps: pd.Series, zones: pd.Series) -> pd.Series:
    """UTC timestamps as site-local wall times (naive)."""
    out = pd.Series(pd.NaT, index=stamps.index, dtype="datetime64[us]")
    for zone, rows in zones.groupby(zones).groups.items():
        out[rows] = stamps[rows].dt.tz_convert(zone).dt.tz_localize(None)
    return out


def study_day(day: pd.Series, reference: pd.Series) -> pd.array:
    """SDTM study day: day 1 is the reference date, the day before it -1 (there is no day 0)."""
    out = []
    for d, r in zip(day, reference, strict=True):
        if d is None or r is None or d != d or r != r:
            out.append(pd.NA)
        else:
            n = (d - r).days
            out.append(n + 1 if n >= 0 else n)
    return pd.array(out, dtype="Int64")


def _qs_frames(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    """The QS records of a chunk of participants, with the language and mode their SUPPQS records need."""
    from .datasets import _responses  # the items data set's reads
    instruments = study_instruments(study)
    codes = {k: v for inst in instruments for k, v in test_codes(inst).items()}
    cats = {i.id: category(i) for i in instruments}
    evlint = {k: v for inst in instruments for k, v in _intervals(inst).items()}
    labels = {}
    for inst in instruments:
        for item in inst.items:
            for option in item.option_set.options:
                labels[(item.id, option.value if option.value is not None else option.code)] = option.label.en
    order = {item_id: n for n, item_id in enumerate(i for inst in instruments for i in inst.item_ids)}
    inst_order = {i.id: n for n, i in enumerate(instruments)}

    def read(assessment_ids, participant_ids):
        return {"responses": _responses(assessment_ids), "subjects": _subjects(participant_ids)}

    for base, reads in chunks.participant_chunks(study, filters, read, language=False,
                                                 rows_per_chunk=chunks.CHUNK_ROWS):
        base = base.merge(reads["subjects"], on="participant_id", how="left")
        keys = ["assessment_id", "participant", "visit", "visit_name", "timezone", "anchor_date", "completed_at",
                "mode"]
        items = base[keys].merge(reads["responses"], on="assessment_id", how="inner")
        items["_order"] = items["item"].map(order)
        items["_inst"] = items["instrument"].map(inst_order)
        value = items["value"].astype("Int64")
        # A not-applicable option chosen is a result; an item its gate ruled out (no option) was not done.
        answered = (items["state"] == "answered") | ((items["state"] == "not_applicable")
                                                      & items["option_code"].notna())
        key_values = [v if pd.notna(v) else c for v, c in zip(value, items["option_code"], strict=True)]
        items["QSORRES"] = pd.Series([labels.get((i, k)) for i, k in zip(items["item"], key_values, strict=True)],
                                     index=items.index, dtype="string").where(answered)
        items["QSSTRESN"] = value.where(items["state"] == "answered")
        stresc = items["QSSTRESN"].astype("string")
        items["QSSTRESC"] = stresc.where(items["state"] == "answered",
                                         items["QSORRES"].str.upper().where(items["state"] == "not_applicable"))
        items["QSSTAT"] = pd.Series(np.where(answered, None, "NOT DONE"), index=items.index, dtype="string")
        items["QSREASND"] = items["state"].map(REASONS).astype("string").where(~answered)
        items["QSCBRFL"] = pd.Series(np.where(items["state"] == "branched", "Y", None), index=items.index,
                                     dtype="string")
        items["QSTESTCD"] = items["item"].map(lambda i: codes[i][0])
        items["QSTEST"] = items["item"].map(lambda i: codes[i][1])
        items["QSCAT"] = items["instrument"].map(cats)
        items["QSEVLINT"] = items["item"].map(evlint).replace("", None)
        when = pd.to_datetime(items["answered_at"], utc=True).fillna(items["completed_at"])
        items["_when"] = _local(when, items["timezone"])
        items["lang"] = items["item_language"]

        not_done = base[base["assessment_status"] == "not_done"]
        qsall = [{"participant": r.participant, "visit": r.visit, "visit_name": r.visit_name, "instrument": inst,
                  "_inst": inst_order[inst],
                  "_order": -1, "QSTESTCD": "QSALL", "QSTEST": "Questionnaire", "QSCAT": cats[inst],
                  "QSSTAT": "NOT DONE", "QSREASND": NOT_DONE.get(r.not_done_reason, "OTHER"),
                  "anchor_date": r.anchor_date, "mode": None, "lang": None}
                 for r in not_done.itertuples(index=False) for inst in asked_instruments(study, r)
                 if inst in inst_order]
        frame = pd.concat([items, pd.DataFrame(qsall)], ignore_index=True) if qsall else items
        if frame.empty:
            continue
        frame = frame.sort_values(["participant", "visit", "_inst", "_order"], kind="stable").reset_index(drop=True)
        frame["STUDYID"] = study.code
        frame["DOMAIN"] = "QS"
        frame["USUBJID"] = [usubjid(study.code, p) for p in frame["participant"]]
        frame["QSSEQ"] = frame.groupby("USUBJID").cumcount().astype("int64") + 1
        frame["VISITNUM"] = frame["visit"].astype("float64")
        frame["VISIT"] = frame["visit_name"]
        when = frame["_when"] if "_when" in frame else pd.Series(pd.NaT, index=frame.index)
        frame["QSDTC"] = pd.Series([w.strftime("%Y-%m-%dT%H:%M:%S") if pd.notna(w) else None for w in when],
                                   index=frame.index, dtype="string")
        days = pd.Series([w.date() if pd.notna(w) else None for w in when], index=frame.index, dtype=object)
        frame["QSDY"] = study_day(days, frame["anchor_date"])
        frame["QSLOBXFL"] = _last_before_exposure(frame, days)
        for name in ("QSTESTCD", "QSTEST", "QSCAT", "QSSTAT", "QSREASND", "QSEVLINT", "VISIT", "QSCBRFL",
                     "QSORRES", "QSSTRESC"):
            frame[name] = frame[name].astype("string")
        frame["QSSTRESN"] = frame["QSSTRESN"].astype("Int64")
        yield frame


def asked_instruments(study: Study, row) -> list[str]:
    """The instruments an assessment (a row of the assessments frame) asks: its timepoint's, or those staff
    chose for an unscheduled one."""
    if row.unscheduled:
        return list((row.asked or {}).get("instruments") or [])
    return next((list(t.instruments) for t in study.timepoints if t.code == row.timepoint), [])


def _last_before_exposure(frame: pd.DataFrame, days: pd.Series) -> pd.Series:
    """Y on each subject's last record of each test with a result on or before the reference date (the
    anchor date: day 1)."""
    eligible = frame["QSSTRESC"].notna() & pd.Series(
        [d is not None and a is not None and a == a and d <= a for d, a in zip(days, frame["anchor_date"],
                                                                             strict=True)], index=frame.index)
    flag = pd.Series(pd.NA, index=frame.index, dtype="string")
    if eligible.any():
        last = frame[eligible].assign(_day=days[eligible]).groupby(["USUBJID", "QSTESTCD"])["QSSEQ"].idxmax()
        flag[last.to_numpy()] = "Y"
    return flag


def sdtm_qs(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    names = [c.name for c in C.SDTM_QS]
    for frame in _qs_frames(study, filters):
        yield frame[names].reset_index(drop=True)


def suppqs(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    """Language and mode of administration of every QS record that has them (QNAM QSLANG, QSMODE)."""
    names = [c.name for c in C.SUPPQS]
    for frame in _qs_frames(study, filters):
        parts = []
        for qnam, qlabel, source, codes in (("QSLANG", "Language of Administration", "lang", LANGUAGES),
                                            ("QSMODE", "Mode of Administration", "mode", MODES)):
            values = frame[source].map(codes)
            kept = frame[values.notna()]
            parts.append(pd.DataFrame({
                "STUDYID": kept["STUDYID"], "RDOMAIN": "QS", "USUBJID": kept["USUBJID"], "IDVAR": "QSSEQ",
                "IDVARVAL": kept["QSSEQ"].astype(str), "QNAM": qnam, "QLABEL": qlabel,
                "QVAL": values[values.notna()], "QORIG": "COLLECTED", "QEVAL": None,
                "_seq": kept["QSSEQ"], "_n": 0 if qnam == "QSLANG" else 1}))
        out = pd.concat(parts).sort_values(["USUBJID", "_seq", "_n"], kind="stable")
        for name in names:
            out[name] = out[name].astype("string")
        yield out[names].reset_index(drop=True)



def adsl(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    """ADaM ADSL: one record per participant, from the subjects data set (same site filter). The anchor
    date is the reference start (RFSTDTC, day 1 of QSDY and ADY)."""
    from sqlalchemy import func

    from ..models import Assessment
    from .datasets import subjects
    names = [c.name for c in C.ADSL]
    for frame in subjects(study, filters):
        completed = dict(bulk.query_frame(
            select(Participant.study_code, func.count(Assessment.id))
            .join(Assessment, Assessment.participant_id == Participant.id)
            .where(Participant.study_id == study.id, Participant.study_code.in_(frame["participant"].tolist()),
                   Assessment.status == "completed").group_by(Participant.study_code),
            ["participant", "n"]).itertuples(index=False, name=None))
        out = pd.DataFrame({
            "STUDYID": study.code,
            "USUBJID": [usubjid(study.code, p) for p in frame["participant"]],
            "SUBJID": frame["participant"], "SITEID": frame["site"],
            "ARM": frame["arm"], "TRT01P": frame["arm"], "TRT01A": frame["arm"],
            "RFSTDT": frame["anchor_date"], "RFICDT": frame["consent_date"],
            "EOSSTT": np.where(frame["status"] == "withdrawn", "DISCONTINUED", "ONGOING"),
            "EOSDT": frame["withdrawn_on"], "DCSREAS": frame["withdrawn_reason"],
            "FUCONTFL": np.where(frame["follow_up_continues"] == 1, "Y", None),
            "DTHFL": np.where(frame["death_date"].notna(), "Y", None), "DTHDT": frame["death_date"],
            "ENRLFL": "Y",
            "ITTFL": np.where(frame["arm"].notna(), "Y", "N"),
            "PROFL": ["Y" if completed.get(p, 0) else "N" for p in frame["participant"]],
        })
        for column in C.ADSL:
            if column.type == "string":
                out[column.name] = out[column.name].astype("string")
        yield out[names].reset_index(drop=True)
