"""The codebook as a Frictionless Data Package descriptor (datapackage.json): one tabular resource per CSV
data set of a study, its Table Schema fields typed, coded fields with their allowed codes as an enum, blank
as the missing value, so tools (frictionless, R's frictionless, pandas with a few lines) load a CSV typed."""

from __future__ import annotations

import re

from ..models import Study
from .codebook import TITLES, dataset_columns
from .labelled import coded_values
from .service import RESOURCE_DATASETS

_TYPES = {"string": "string", "integer": "integer", "number": "number", "date": "date", "datetime": "datetime",
          "boolean": "boolean"}


def field(column) -> dict:
    out = {"name": column.name, "title": column.label, "type": _TYPES[column.type]}
    if column.type == "datetime":
        out["format"] = "%Y-%m-%dT%H:%M:%SZ"  # the CSV files' UTC timestamps
    codes = [code for code, _ in coded_values(column)]
    if column.type == "integer":
        codes = [int(c) for c in codes if re.fullmatch(r"-?\d+", c)]  # text codes are stored as blanks
    if codes:
        out["constraints"] = {"enum": codes}
        out["description"] = column.values
    if column.missing:
        out["description"] = "; ".join(p for p in (out.get("description"), f"missing: {column.missing}") if p)
    return out


def descriptor(study: Study) -> dict:
    resources = []
    for name, columns in dataset_columns(study).items():
        if name in RESOURCE_DATASETS:  # FHIR resources, not a CSV table
            continue
        resources.append({
            "name": name, "title": TITLES.get(name, name), "path": f"{study.code}_{name}.csv",
            "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"', "header": True},
            "schema": {"fields": [field(c) for c in columns], "missingValues": [""]},
        })
    return {"profile": "tabular-data-package", "name": study.code.lower().replace("_", "-"),
            "title": study.title, "resources": resources}
