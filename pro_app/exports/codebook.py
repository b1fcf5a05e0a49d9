"""The codebook: every column of every data set of a study, with its label, type and allowed values."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pandas as pd

from ..models import Study
from ..results.datasets import result_columns
from . import columns as C
from .alerts import ALERTS
from .chunks import Filters
from .labelled import sas_names
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
        "alerts": ALERTS,
        "sdtm_qs": [_qs_values(c, instruments.values()) for c in C.SDTM_QS],
        "suppqs": C.SUPPQS,
        "adsl": [replace(c, values=arms) if c.name in ("ARM", "TRT01P", "TRT01A") else c for c in C.ADSL],
        "adqs": [_adqs_values(c, list(instruments.values()), arms) for c in C.ADQS],
        "fhir": C.FHIR,
        "wide": C.IDENTIFIERS + C.WIDE_ROW + [C.item_column(owner[i], i) for i in item_cols]
        + [C.scale_column(owner[s], s) for s in scale_cols],
    }
    per_dataset.update(result_columns(study))
    graded = proae_instruments(study)
    if graded:
        per_dataset["proae"] = [
            C.Column("id", "Participant (pseudonymous study code)", "string"),
            C.Column("Cycle", "Visit number (as `visit`: 100 x order + k for occurrence k of a repeating timepoint, "
                     "2.01 for an unscheduled assessment after visit 2)", "number"),
            C.Column("timepoint", "Timepoint code", "string"),
            C.Column("site", "Site code", "string"),
            C.Column("completed_at", "When the assessment was completed (UTC, ISO 8601)", "datetime"),
        ] + [C.item_column(i, c, proae=True) for i in graded for c in study_items(study, i)] + [
            C.scale_column(i, c) for i in graded for c in study_scales(study, i)]
    return per_dataset


def _adqs_values(column: C.Column, instruments, arms: str) -> C.Column:
    """ADQS's parameters, their names, categories and criteria, and the treatments (the study's arms)."""
    from .adqs import criterion, paramcd, parameters
    from .cdisc import category
    params = parameters(instruments)
    listed = {
        "PARAMCD": [f"{paramcd(s)} = {s.name.en}" for _, s in params],
        "PARAM": [f"{s.name.en} = {s.name.en}" for _, s in params],
        "PARCAT1": [f"{category(i)} = {i.title.en}" for i in instruments],
        "CRIT1": list(dict.fromkeys(f"{criterion(s)} = {criterion(s)}" for _, s in params)),
    }
    if column.name in listed:
        return replace(column, values="; ".join(listed[column.name]))
    if column.name in ("TRT01P", "TRT01A", "TRTP", "TRTA"):
        return replace(column, values=arms)
    return column


def _qs_values(column: C.Column, instruments) -> C.Column:
    """QSTESTCD, QSTEST and QSCAT list the study's instruments' codes, names and categories."""
    from .cdisc import category, test_codes
    if column.name == "QSTESTCD":
        codes = [f"{code} = {name}" for i in instruments for code, name in test_codes(i).values()]
        return replace(column, values="; ".join(codes + ["QSALL = Questionnaire (an assessment not done)"]))
    if column.name == "QSCAT":
        return replace(column, values="; ".join(f"{category(i)} = {i.title.en}" for i in instruments))
    return column


#: The codebook's own columns (the labels of its xpt, sav and dta files).
CODEBOOK = [
    C.Column("dataset", "Data set", "string"),
    C.Column("column", "Column name", "string"),
    C.Column("label", "What the column holds", "string"),
    C.Column("type", "Type", "string", "string = text; integer = whole number; number = number; date = date "
             "(ISO 8601); datetime = UTC time (ISO 8601); boolean = true or false"),
    C.Column("values", "Allowed values, code = label; code = label", "string", missing="blank: any value"),
    C.Column("instrument", "Instrument the column belongs to", "string", missing="blank: none"),
    C.Column("scales", "Scales the item belongs to", "string", missing="blank: none"),
    C.Column("missing", "How missing data shows", "string", missing="blank: never missing"),
    C.Column("xpt_name", "Name of the column in the SAS transport (xpt) file", "string"),
]

#: Titles of the data sets (the file label of xpt, sav and dta files).
TITLES = {
    "items": "Item responses, one row per item per assessment",
    "scores": "Scale scores, one row per scale per assessment",
    "wide": "One row per assessment, items and scales",
    "proae": "PRO-CTCAE items and composites (ProAE layout)",
    "compliance": "Compliance, one row per assessment",
    "subjects": "Subjects, one row per participant",
    "alerts": "Symptom alerts, one row per alert",
    "sdtm_qs": "SDTM QS: questionnaire records",
    "suppqs": "SDTM SUPPQS: language and mode",
    "adsl": "ADaM ADSL: subject-level analysis data",
    "adqs": "ADaM ADQS: questionnaire scores",
    "fhir": "FHIR R4: Questionnaire, QuestionnaireResponse, Observation",
    "codebook": "Codebook: every column of every data set",
}


def labelled_columns(study: Study, dataset: str) -> list[C.Column]:
    """The columns of one data set with their labels and values (the codebook's own for the codebook)."""
    if dataset == "codebook":
        return CODEBOOK
    return dataset_columns(study).get(dataset, [])


def codebook_frame(study: Study) -> pd.DataFrame:
    per_dataset = dataset_columns(study)
    rows = []
    for name, cols in per_dataset.items():
        xpt = sas_names([c.name for c in cols])
        rows.extend({"dataset": name, "column": c.name, "label": c.label, "type": c.type, "values": c.values,
                     "instrument": c.instrument, "scales": c.scales, "missing": c.missing, "xpt_name": xpt[c.name]}
                    for c in cols)
    return pd.DataFrame(rows, columns=[c.name for c in CODEBOOK])


def codebook(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    yield codebook_frame(study)


