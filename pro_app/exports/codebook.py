"""The codebook: every column of every data set of a study, with its label, type and allowed values."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pandas as pd

from ..models import Study
from ..results.datasets import result_columns
from . import columns as C
from .chunks import Filters
from .layout import proae_instruments, study_instruments, study_items, study_scales, wide_columns


def dataset_columns(study: Study) -> dict[str, list[C.Column]]:
    """The columns of every data set of this study, in order (the codebook lists exactly these)."""
    instruments = {i.id: i for i in study_instruments(study)}
    item_cols, scale_cols = wide_columns(study)
    owner = {c: inst for inst in instruments.values() for c in (*inst.item_ids, *inst.scale_codes)}
    ids = "; ".join(f"{i.id} = {i.title.en}" for i in instruments.values())
    arms = "; ".join(f"{arm} = {arm}" for arm in study.arms or ())  # arms are codes with no label of their own
    per_dataset = {
        "items": [replace(c, values=ids) if c.name == "instrument" else c for c in C.IDENTIFIERS + C.ITEM_ROW],
        "scores": [replace(c, values=ids) if c.name == "instrument" else c for c in C.IDENTIFIERS + C.SCORE_ROW],
        "compliance": C.IDENTIFIERS + C.COMPLIANCE_ROW,
        "subjects": [replace(c, values=arms) if c.name == "arm" else c for c in C.SUBJECTS],
        "wide": C.IDENTIFIERS + [C.item_column(owner[i], i) for i in item_cols]
        + [C.scale_column(owner[s], s) for s in scale_cols],
    }
    per_dataset.update(result_columns(study))
    graded = proae_instruments(study)
    if graded:
        per_dataset["proae"] = [
            C.Column("id", "Participant (pseudonymous study code)", "string"),
            C.Column("Cycle", "Visit number (order of the timepoint in the schedule)", "integer"),
            C.Column("timepoint", "Timepoint code", "string"),
            C.Column("site", "Site code", "string"),
            C.Column("completed_at", "When the assessment was completed (UTC, ISO 8601)", "datetime"),
        ] + [C.item_column(i, c, proae=True) for i in graded for c in study_items(study, i)] + [
            C.scale_column(i, c) for i in graded for c in study_scales(study, i)]
    return per_dataset


def codebook_frame(study: Study) -> pd.DataFrame:
    per_dataset = dataset_columns(study)
    rows = [
        {"dataset": name, "column": c.name, "label": c.label, "type": c.type, "values": c.values,
         "instrument": c.instrument, "scales": c.scales, "missing": c.missing}
        for name, cols in per_dataset.items() for c in cols
    ]
    return pd.DataFrame(rows, columns=["dataset", "column", "label", "type", "values", "instrument", "scales",
                                       "missing"])


def codebook(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    yield codebook_frame(study)


