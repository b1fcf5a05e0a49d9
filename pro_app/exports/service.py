"""One entry point for every export: build the data set, write it in a format, audit who took what."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from .. import audit
from ..database import READ_ONLY
from ..extensions import db
from .chunks import check_filters
from .datasets import DATASETS, ExportError, Filters, build, study_by_code
from .writers import FORMATS, WRITERS

EXTENSIONS = {"csv": "csv", "parquet": "parquet", "xlsx": "xlsx", "dta": "dta"}


@dataclass
class Export:
    study_code: str
    dataset: str
    format: str
    filters: Filters
    rows: int = 0

    @property
    def filename(self) -> str:
        return f"{self.study_code}_{self.dataset}.{EXTENSIONS[self.format]}"

    @property
    def mimetype(self) -> str:
        return FORMATS[self.format]


def prepare(study_code: str, dataset: str, fmt: str = "csv", filters: Filters | None = None) -> Export:
    """Check the request (raises ExportError with a clear message) before anything is sent."""
    if dataset not in DATASETS:
        raise ExportError(f"unknown data set {dataset!r} (one of: {', '.join(DATASETS)})")
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r} (one of: {', '.join(WRITERS)})")
    filters = filters or Filters()
    check_filters(study_by_code(study_code), filters)
    return Export(study_code, dataset, fmt, filters)


def stream(export: Export, *, actor: str, user_id: int | None, via: str, excel: bool = False) -> Iterator[bytes]:
    """The file's bytes, chunk by chunk; when the last chunk is out, the export is audited with its row count.

    The reads run in a read-only transaction of their own, which on SQLite does not hold the write lock
    (an export of a large study takes minutes; patients' answers must keep being saved meanwhile).
    """
    db.session.commit()  # end whatever the caller had open
    db.session.connection(execution_options={READ_ONLY: True})
    study = study_by_code(export.study_code)

    def counted() -> Iterator[pd.DataFrame]:
        for chunk in build(study, export.dataset, export.filters):
            export.rows += len(chunk)
            yield chunk

    writer = WRITERS[export.format]
    yield from (writer(counted(), excel=excel) if export.format == "csv" else writer(counted()))
    db.session.commit()  # end the read-only transaction; the audit record gets a write transaction
    audit.record("export", "study", study.id, actor=actor, user_id=user_id, study_id=study.id,
                 new={"dataset": export.dataset, "format": export.format, "filters": export.filters.describe(),
                      "rows": export.rows, "via": via})
    db.session.commit()
