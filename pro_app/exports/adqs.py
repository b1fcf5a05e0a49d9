"""ADaM ADQS (a BDS data set): one record per participant, parameter and assessment, a parameter being a
scale score (EORTC, 0-100) or a PRO-CTCAE composite grade (0-3). AVAL is the stored score exactly, as in the
scores data set; BASE is the scored value at the study's baseline timepoint; CHG and PCHG are given on
post-baseline records; CRIT1FL says whether the record is worse than baseline by at least the meaningful
change (10 points for EORTC scales, Osoba 1998, SCORING.md §3; 1 grade for a composite), worse being down for
functional, global and summary scales and up for symptom scales and grades. Treatment variables are the
subject's arm (pro-app records no actual treatment: TRTA is the planned arm)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import select

from ..instruments import Instrument, Scale
from ..models import Assessment, Participant, Score, Study, Timepoint
from ..results.services import MEANINGFUL_CHANGE
from ..visits import scheduled_visit
from . import bulk, chunks
from . import columns as C
from .cdisc import category, study_day, usubjid
from .chunks import Filters
from .layout import study_instruments

#: Worsening of a PRO-CTCAE composite that counts as meaningful: one grade.
COMPOSITE_WORSENING = 1.0


def worsening(scale: Scale) -> tuple[float, float]:
    """(the meaningful change, the sign of a worsening) of a scale."""
    if scale.type == "composite":
        return COMPOSITE_WORSENING, 1.0
    return MEANINGFUL_CHANGE, -1.0 if scale.higher_is_better else 1.0


def criterion(scale: Scale) -> str:
    """CRIT1 of a scale's parameter."""
    size, sign = worsening(scale)
    unit = ("grade" if size == 1 else "grades") if scale.type == "composite" else "points"
    bound = f"CHG {sign * size:g} or {'lower' if sign < 0 else 'higher'}"
    return f"Worse than baseline by {size:g} {unit} or more ({bound})"


def parameters(instruments: list[Instrument]) -> list[tuple[Instrument, Scale]]:
    return [(inst, scale) for inst in instruments for scale in inst.scales]


def paramcd(scale: Scale) -> str:
    return scale.paramcd or scale.code


def _subjects(participant_ids: list[int]) -> pd.DataFrame:
    return bulk.query_frame(select(Participant.id, Participant.arm, Participant.anchor_date)
                            .where(Participant.id.in_(participant_ids)), ["participant_id", "arm", "anchor_date"])


def _baseline(participant_ids: list[int], position: int | None) -> pd.DataFrame:
    """The scored value of each participant's baseline assessment, per scale."""
    return bulk.query_frame(
        select(Assessment.participant_id, Score.scale_code, Score.value)
        .join(Assessment, Score.assessment_id == Assessment.id)
        .join(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .where(Assessment.participant_id.in_(participant_ids), Timepoint.position == position,
               Assessment.occurrence == 1, Score.value.is_not(None)),
        ["participant_id", "scale", "BASE"])


def adqs(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    from .datasets import _scores  # the scores data set's read
    params = parameters(study_instruments(study))
    codes = {s.code: paramcd(s) for _, s in params}
    names = {s.code: s.name.en for _, s in params}
    cats = {s.code: category(i) for i, s in params}
    crit = {s.code: criterion(s) for _, s in params}
    size = {s.code: worsening(s)[0] for _, s in params}
    sign = {s.code: worsening(s)[1] for _, s in params}
    order = {s.code: n for n, (_, s) in enumerate(params)}
    baseline = study.baseline_position
    first = next((t for t in study.timepoints if t.position == baseline), None)
    baseline_visit = scheduled_visit(first.position, 1, first.repeats) if first is not None else None
    columns = [c.name for c in C.ADQS]

    def read(assessment_ids, participant_ids):
        return {"scores": _scores(assessment_ids), "subjects": _subjects(participant_ids),
                "baseline": _baseline(participant_ids, baseline)}

    for base, reads in chunks.participant_chunks(study, filters, read, language=False):
        scores = reads["scores"]
        if scores.empty:
            continue
        frame = base[["assessment_id", "participant_id", "participant", "site", "visit", "visit_name",
                      "completed_date"]].merge(
            scores, on="assessment_id", how="inner")
        frame = frame[frame["scale"].isin(order)]
        frame = frame.merge(reads["subjects"], on="participant_id", how="left")
        frame = frame.merge(reads["baseline"], on=["participant_id", "scale"], how="left")
        frame = frame.assign(_order=frame["scale"].map(order)).sort_values(
            ["participant", "_order", "visit"], kind="stable").reset_index(drop=True)
        value = frame["value"].astype("float64")
        post = (frame["visit"] > baseline_visit).to_numpy() if baseline is not None else np.zeros(len(frame), bool)
        chg = (value - frame["BASE"]).where(post)
        pchg = (100 * chg / frame["BASE"]).where(frame["BASE"] != 0)
        worse = (chg * frame["scale"].map(sign)) >= frame["scale"].map(size)
        arm = frame["arm"].astype("string")
        out = pd.DataFrame({
            "STUDYID": study.code,
            "USUBJID": [usubjid(study.code, p) for p in frame["participant"]],
            "SUBJID": frame["participant"], "SITEID": frame["site"],
            "TRT01P": arm, "TRT01A": arm, "TRTP": arm, "TRTA": arm,
            "PARAMCD": frame["scale"].map(codes), "PARAM": frame["scale"].map(names),
            "PARCAT1": frame["scale"].map(cats),
            "AVAL": value, "BASE": frame["BASE"].astype("float64"),
            "ABLFL": np.where((frame["visit"] == baseline_visit) & value.notna(), "Y", None),
            "CHG": chg.astype("float64"), "PCHG": pchg.astype("float64"),
            "AVISIT": frame["visit_name"], "AVISITN": frame["visit"].astype("float64"),
            "ADT": pd.array(frame["completed_date"].tolist(), dtype=pd.ArrowDtype(pa.date32())),
            "ADY": study_day(frame["completed_date"], frame["anchor_date"]),
            "ANL01FL": np.where(value.notna(), "Y", None),
            "CRIT1": frame["scale"].map(crit),
            "CRIT1FL": np.where(chg.isna(), None, np.where(worse, "Y", "N")),
            "SRCDOM": "SCORES", "SRCVAR": "value",
            "SRCSEQ": frame["assessment_id"].astype("int64"),
        })
        out.insert(columns.index("ASEQ"), "ASEQ", out.groupby("USUBJID").cumcount().astype("int64") + 1)
        for column in C.ADQS:
            if column.type == "string":
                out[column.name] = out[column.name].astype("string")
        yield out[columns]
