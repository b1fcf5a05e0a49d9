"""One entry point for every export: build the data set, write it in a format, audit who took what."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pandas as pd

from .. import audit
from ..database import READ_ONLY
from ..extensions import db
from ..models import Study
from .chunks import FilterError, check_filters
from .codebook import TITLES, labelled_columns
from .datasets import DATASETS, ExportError, Filters, build, study_by_code
from .define import DATASETS as DEFINE_DATASETS
from .define import define_xml
from .labelled import DEFAULT_STATA_VERSION, LABELLED_FORMATS, STATA_VERSIONS, Layout, writer
from .writers import FORMATS, RESOURCE_FORMATS, WRITERS

EXTENSIONS = {fmt: fmt for fmt in FORMATS}
#: Data sets of resources rather than rows, written only in RESOURCE_FORMATS.
RESOURCE_DATASETS = ("fhir",)
TABULAR_FORMATS = tuple(f for f in FORMATS if f not in RESOURCE_FORMATS)


class FormatError(FilterError):
    """A format the data set is not written in (or an option of another format): a usage error like a bad
    filter (the CLI exits 2, the API answers 400)."""


def formats_for(dataset: str) -> tuple[str, ...]:
    """The formats a data set is written in (the first is its default)."""
    return RESOURCE_FORMATS if dataset in RESOURCE_DATASETS else TABULAR_FORMATS


def default_format(dataset: str) -> str:
    return formats_for(dataset)[0]


def write(fmt: str, chunks: Iterable[pd.DataFrame], study: Study, dataset: str, *, excel: bool = False,
          stata_version: int | None = None) -> Iterator[bytes]:
    """The data set's chunks written in the format (the labelled ones take their labels from the codebook)."""
    if fmt in LABELLED_FORMATS:
        layout = Layout(dataset, TITLES.get(dataset, dataset), labelled_columns(study, dataset),
                        stata_version or DEFAULT_STATA_VERSION)
        return writer(fmt)(chunks, layout)
    if fmt == "csv":
        return WRITERS[fmt](chunks, excel=excel)
    return WRITERS[fmt](chunks)


@dataclass
class Export:
    study_code: str
    dataset: str
    format: str
    filters: Filters
    stata_version: int | None = None  # dta only
    rows: int = 0

    @property
    def filename(self) -> str:
        return f"{self.study_code}_{self.dataset}.{EXTENSIONS[self.format]}"

    @property
    def mimetype(self) -> str:
        return FORMATS[self.format]


def prepare(study_code: str, dataset: str, fmt: str | None = None, filters: Filters | None = None,
            stata_version: int | None = None) -> Export:
    """Check the request (raises ExportError with a clear message) before anything is sent; no format is the
    data set's default (csv, or ndjson for fhir)."""
    if dataset not in DATASETS:
        raise ExportError(f"unknown data set {dataset!r} (one of: {', '.join(DATASETS)})")
    fmt = fmt or default_format(dataset)
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (one of: {', '.join(FORMATS)})")
    if fmt not in formats_for(dataset):
        raise FormatError(f"the {dataset} data set is written as {' or '.join(formats_for(dataset))}, not {fmt}")
    if stata_version is not None and fmt != "dta":
        raise FormatError("a Stata version is for the dta format only")
    if stata_version is not None and stata_version not in STATA_VERSIONS:
        raise ExportError(f"unknown Stata version {stata_version!r} (one of: {', '.join(map(str, STATA_VERSIONS))})")
    if fmt == "dta" and stata_version is None:
        stata_version = DEFAULT_STATA_VERSION
    filters = filters or Filters()
    check_filters(study_by_code(study_code), filters)
    return Export(study_code, dataset, fmt, filters, stata_version)


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

    yield from write(export.format, counted(), study, export.dataset, excel=excel,
                     stata_version=export.stata_version)
    db.session.commit()  # end the read-only transaction; the audit record gets a write transaction
    taken = {"dataset": export.dataset, "format": export.format, "filters": export.filters.describe(),
             "rows": export.rows, "via": via}
    if export.stata_version is not None:
        taken["stata_version"] = export.stata_version
    audit.record("export", "study", study.id, actor=actor, user_id=user_id, study_id=study.id, new=taken)
    db.session.commit()


#: A stylesheet named in define.xml: a plain file name next to it (it is written into a processing instruction).
STYLESHEET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.xsl")
DEFINE_FILENAME = "define.xml"
DEFINE_MIMETYPE = "application/xml"


def define(study_code: str, *, actor: str, user_id: int | None, via: str, stylesheet: str | None = None) -> bytes:
    """define.xml for the study's CDISC data sets (read in a read-only transaction, like an export), audited as
    an export of `define` once built."""
    if stylesheet is not None and not STYLESHEET.fullmatch(stylesheet):
        raise FormatError(f"stylesheet must be a file name ending in .xsl (letters, digits, . _ -), got {stylesheet!r}")
    db.session.commit()
    db.session.connection(execution_options={READ_ONLY: True})
    study = study_by_code(study_code)
    data = define_xml(study, stylesheet=stylesheet)
    db.session.commit()
    taken = {"dataset": "define", "format": "xml", "filters": Filters().describe(), "via": via,
             "datasets": [name for name, *_ in DEFINE_DATASETS]}
    if stylesheet:
        taken["stylesheet"] = stylesheet
    audit.record("export", "study", study.id, actor=actor, user_id=user_id, study_id=study.id, new=taken)
    db.session.commit()
    return data
