"""The study form's fields from plain data: sites and timepoints (lists or YAML text) become the rows the
form posts (`sites-0-code`, `timepoints-1-instruments`, ...), typed term numbers the ticked terms."""

from __future__ import annotations

from typing import Any

import yaml

SITE_FIELDS = ("code", "name", "timezone")
TIMEPOINT_FIELDS = ("code", "label", "label_es", "anchor", "target_day", "window_before", "window_after",
                    "repeat_every", "repeat_unit", "repeat_until", "repeat_count")


def _rows(value: Any) -> list:
    rows = yaml.safe_load(value) if isinstance(value, str) else value
    return list(rows or [])


def study_fields(data: dict) -> dict:
    """`data` with its `sites`, `timepoints` (lists or YAML) and `terms__<instrument>` ("17, 9") replaced by
    the form's own fields; everything else passes through."""
    out = {k: v for k, v in data.items() if k not in ("sites", "timepoints")}
    for n, site in enumerate(_rows(data.get("sites", []))):
        for field in SITE_FIELDS:
            if field in site:
                out[f"sites-{n}-{field}"] = str(site[field])
    for n, timepoint in enumerate(_rows(data.get("timepoints", []))):
        for field in TIMEPOINT_FIELDS:
            if field in timepoint and timepoint[field] is not None:
                out[f"timepoints-{n}-{field}"] = str(timepoint[field])
        out[f"timepoints-{n}-instruments"] = [str(i) for i in timepoint.get("instruments") or []]
    for key, value in data.items():
        if key.startswith("terms__") and isinstance(value, str):
            out[key] = [p.strip() for p in value.split(",") if p.strip()]
    return out
