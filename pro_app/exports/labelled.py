"""SAS transport (xpt), SPSS (sav) and labelled Stata (dta) files, written with pyreadstat (ReadStat) from a
data set's chunks and its codebook columns: every variable carries its codebook label, every coded variable
its value labels (sav, dta; a SAS transport file has no place for them: SAS keeps formats in a catalog of
their own, and a submission describes them in define.xml).

ReadStat writes a whole data frame at once, so these three formats are not streamed while they are built:
each chunk is turned into its written form as it comes (codes, truncated text, floats), the chunks are
joined, the file is written to a temporary file and then sent in blocks of 1 MiB.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyreadstat

from .columns import Column
from .writers import neutralise

#: Stata release -> pyreadstat's `version`, which writes the file format in the comment. Stata 12 (format
#: 115) is the newest that R's foreign::read.dta and other pre-2013 readers open; it holds text as bytes of
#: at most 243 (longer text is cut) and knows no Unicode (the bytes are UTF-8: in R, read.dta then
#: `iconv(x, "UTF-8")`). 14 (format 118) is Stata 14 and later, Unicode, any text length.
STATA_VERSIONS = {12: 12, 13: 13, 14: 14}  # 12: format 115; 13: 117; 14: 118
DEFAULT_STATA_VERSION = 14
LABELLED_FORMATS = ("xpt", "sav", "dta")

XPT_NAME = 8  # SAS transport version 5: names of at most 8 characters,
XPT_LABEL = 40  # labels of at most 40,
XPT_TEXT = 200  # text values of at most 200 bytes
STATA_LABEL = 80
STATA_OLD_TEXT = 243  # ReadStat's longest text in a Stata 12 (format 115) file
BLOCK = 1 << 20

#: Shortened SAS names (8 characters at most) of the long column names; any other long name is
#: shortened by `sas_names`' rule.
SAS_WORDS = {
    "participant": "SUBJECT", "timepoint": "TIMEPNT", "assessment_id": "ASMTID", "target_date": "TARGETDT",
    "window_start": "WINSTART", "window_end": "WINEND", "assessment_status": "ASMTSTAT",
    "started_at": "STARTDTM", "completed_at": "COMPLDTM", "instrument": "INSTRUM",
    "instrument_version": "INSTVER", "item_label": "ITEMLBL", "value_label": "VALUELBL",
    "item_language": "ITEMLANG", "shown_at": "SHOWNDTM", "answered_at": "ANSWDTM", "scale_name": "SCALENAM",
    "baseline_flag": "BASEFL", "baseline_value": "BASEVAL", "threshold_flag": "THRESHFL",
    "days_from_target": "DAYSTGT", "in_window": "INWINFL", "scoring_version": "SCORVER",
    "not_expected_reason": "NEXPRSN", "items_answered": "NANSWER", "items_asked": "NASKED",
    "not_done_reason": "NDRSN", "consent_date": "CONSDT", "anchor_date": "ANCHORDT", "enrolled_at": "ENRLDTM",
    "withdrawn_on": "WDDT", "withdrawn_reason": "WDRSN", "follow_up_continues": "FUCONT", "death_date": "DTHDT",
    "compliance": "COMPLNC", "administered_by": "ADMINBY", "keyed_at": "KEYEDDTM", "entered_by": "ENTERBY",
    "verified_by": "VERIFBY",
}
#: Words of a long name, shortened part by part (PROCTCAE_8A_SCL -> PC8AS, PROCTCAE_8_COMP -> PC8C).
SAS_PARTS = {"PROCTCAE": "PC", "SCL": "S", "COMP": "C", "IND": "I"}


def sas_names(names: list[str]) -> dict[str, str]:
    """A SAS version 5 name for every column, in order, unique, deterministic:

    1. upper case, characters other than letters, digits and _ made _ (and a leading digit prefixed _);
    2. a name of 8 characters or fewer is kept;
    3. a longer one is looked up in SAS_WORDS; failing that its _-separated parts are shortened by SAS_PARTS
       and joined without the _;
    4. still longer than 8, or taken by an earlier column: its first 8 characters, the last ones replaced by
       a counter (2, 3, ...) until it is unique.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        clean = re.sub(r"[^A-Z0-9_]", "_", name.upper())
        if clean[:1].isdigit():
            clean = "_" + clean
        if len(clean) > XPT_NAME:
            short = SAS_WORDS.get(name)
            if short is None:
                short = "".join(SAS_PARTS.get(part, part) for part in clean.split("_"))
            clean = short
        candidate, n = clean[:XPT_NAME], 1
        while candidate in taken or not candidate:
            n += 1
            candidate = clean[:XPT_NAME - len(str(n))] + str(n)
        taken.add(candidate)
        out[name] = candidate
    return out


def coded_values(column: Column) -> list[tuple[str, str]]:
    """The codebook's allowed values of the column, `code = label; code = label`, as (code, label) pairs."""
    if not column.values:
        return []
    pairs = []
    for part in column.values.split("; "):
        code, _, label = part.partition(" = ")
        pairs.append((code.strip(), label.strip()))
    return pairs


def ascii_text(text: str) -> str:
    """Text as ASCII for a SAS transport header (typographic quotes and dashes made plain, accents dropped)."""
    text = text.translate({0x2212: "-", 0x2013: "-", 0x2014: "-", 0x201C: '"', 0x201D: '"', 0x2018: "'",
                           0x2019: "'", 0x2026: "..."})
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded


def cut(text: str, limit: int) -> str:
    """The text cut to at most `limit` bytes of UTF-8, at a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


@dataclass
class Layout:
    """What a labelled file needs besides the rows: the data set's name and columns (from the codebook)."""

    dataset: str
    title: str
    columns: list[Column]
    stata_version: int = DEFAULT_STATA_VERSION
    by_name: dict[str, Column] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {c.name: c for c in self.columns}

    def column(self, name: str) -> Column:
        return self.by_name.get(name) or Column(name, name, "string")


@dataclass
class _Prepared:
    """Per column: how its values are written, and its labels."""

    label: str
    value_labels: dict | None = None
    encode: dict[str, int] | None = None  # text code -> number (Stata: value labels only on numbers)
    measure: str = "unknown"  # SPSS: nominal | ordinal | scale


class _Writer:
    """Turns chunks into one frame in the written form of one format, then writes it with pyreadstat."""

    def __init__(self, fmt: str, layout: Layout):
        self.fmt, self.layout = fmt, layout
        self.prepared: dict[str, _Prepared] = {}
        self.text_limit = {"xpt": XPT_TEXT, "dta": STATA_OLD_TEXT if layout.stata_version <= 12 else None,
                           "sav": None}[fmt]

    def _prepare(self, name: str, kind: str) -> _Prepared:
        column = self.layout.column(name)
        label = column.label or name
        pairs = coded_values(column)
        prepared = _Prepared(label)
        if kind == "number":
            numeric = [(c, lbl) for c, lbl in pairs if re.fullmatch(r"-?\d+(\.\d+)?", c)]
            if numeric and self.fmt != "xpt":
                prepared.value_labels = {float(c): lbl for c, lbl in numeric}
            prepared.measure = "ordinal" if numeric else "scale"
        elif kind == "text" and pairs:
            prepared.measure = "nominal"
            if self.fmt == "dta":
                prepared.encode = {c: n for n, (c, _) in enumerate(pairs, start=1)}
                prepared.value_labels = {float(n): lbl for n, (_, lbl) in enumerate(pairs, start=1)}
            elif self.fmt == "sav":
                prepared.value_labels = dict(pairs)
        elif kind == "text":
            prepared.measure = "nominal"
        if prepared.value_labels:
            prepared.value_labels = _unique_labels(prepared.value_labels)
        return prepared

    def convert(self, chunk: pd.DataFrame) -> pd.DataFrame:
        chunk = neutralise(chunk)
        out = {}
        for name in chunk.columns:
            column = chunk[name]
            dtype = column.dtype
            if isinstance(dtype, pd.DatetimeTZDtype):
                kind, values = "datetime", column.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
            elif pd.api.types.is_datetime64_dtype(dtype):
                kind, values = "datetime", column.astype("datetime64[ns]")
            elif _is_date(column):
                kind, values = "date", pd.Series([v if isinstance(v, date) else None for v in column],
                                                 index=column.index, dtype=object)
            elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
                kind, values = "number", column.astype("float64")
            else:
                kind = "text"
                values = column.astype("string").fillna("")
            if name not in self.prepared:
                self.prepared[name] = self._prepare(name, kind)
            prepared = self.prepared[name]
            if kind == "text" and prepared.encode is not None:
                values = self._encoded(values, prepared)
            elif kind == "text":
                values = values.astype(object)
                if self.text_limit:
                    values = values.map(lambda v, limit=self.text_limit: cut(v, limit))
            out[name] = values
        return pd.DataFrame(out, index=chunk.index)

    def _encoded(self, values: pd.Series, prepared: _Prepared) -> pd.Series:
        """Text codes as the numbers their value labels hang on; a value the codebook does not list gets the
        next number, labelled with itself; blank is missing."""
        for value in values.unique():
            if value and value not in prepared.encode:
                prepared.encode[value] = len(prepared.encode) + 1
                prepared.value_labels[float(prepared.encode[value])] = cut(value, 32000)
        return values.map(lambda v: float(prepared.encode[v]) if v else np.nan).astype("float64")

    def write(self, chunks: Iterable[pd.DataFrame]) -> Iterator[bytes]:
        frame = pd.concat([self.convert(c) for c in chunks], ignore_index=True)
        names = list(frame.columns)
        with tempfile.TemporaryDirectory(prefix="pro-app-export-") as folder:
            path = os.path.join(folder, f"data.{self.fmt}")
            getattr(self, f"_write_{self.fmt}")(frame, names, path)
            _fix_timestamps(path, self.fmt)
            del frame
            with open(path, "rb") as fh:
                while data := fh.read(BLOCK):
                    yield data

    def _value_labels(self, names: list[str]) -> dict:
        return {n: self.prepared[n].value_labels for n in names if self.prepared[n].value_labels}

    def _write_xpt(self, frame: pd.DataFrame, names: list[str], path: str) -> None:
        renamed = sas_names(names)
        labels = []
        for name in names:
            label = ascii_text(self.prepared[name].label)
            if renamed[name] != name.upper():  # the original name stays readable in the file
                label = f"{name}: {label}"
            labels.append(label[:XPT_LABEL].rstrip())
        table = sas_names([self.layout.dataset.removeprefix("sdtm_")])[self.layout.dataset.removeprefix("sdtm_")]
        pyreadstat.write_xport(frame.rename(columns=renamed), path, file_label=ascii_text(self.layout.title)[:40],
                               column_labels=labels, table_name=table, file_format_version=5)

    def _write_sav(self, frame: pd.DataFrame, names: list[str], path: str) -> None:
        pyreadstat.write_sav(frame, path, file_label=self.layout.title[:64],
                             column_labels=[self.prepared[n].label for n in names],
                             variable_value_labels=self._value_labels(names),
                             variable_measure={n: self.prepared[n].measure for n in names})

    def _write_dta(self, frame: pd.DataFrame, names: list[str], path: str) -> None:
        pyreadstat.write_dta(frame, path, file_label=self.layout.title[:80],
                             column_labels=[cut(self.prepared[n].label, STATA_LABEL) for n in names],
                             version=STATA_VERSIONS[self.layout.stata_version],
                             variable_value_labels=self._value_labels(names))


def _is_date(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.ArrowDtype):
        return str(column.dtype.pyarrow_dtype).startswith("date")
    return column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "date"


def _unique_labels(labels: dict) -> dict:
    """Value labels, made distinct where two codes share a label (readers refuse a repeated label)."""
    seen: dict[str, int] = {}
    for label in labels.values():
        seen[label] = seen.get(label, 0) + 1
    return {code: (f"{code:g} {label}" if isinstance(code, float) else f"{code} {label}") if seen[label] > 1
            else label for code, label in labels.items()}


#: Where each format keeps the time it was written, so one data set always gives the same bytes (the
#: command line and the API serve identical files); the times are set to 1 January 2000.
_STAMPS = {
    "xpt": (re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d"), b"01JAN00:00:00:00", 80 * 12),
    "sav": (re.compile(rb"\d\d [A-Z][a-z]{2} \d\d\d\d:\d\d:\d\d"), b"01 Jan 0000:00:00", 200),
    "dta": (re.compile(rb"\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d"), b"01 Jan 2000 00:00", 400),
}


def _fix_timestamps(path: str, fmt: str) -> None:
    pattern, fixed, head = _STAMPS[fmt]
    with open(path, "r+b") as fh:
        data = fh.read(head)
        patched = pattern.sub(fixed, data)
        if patched != data:
            fh.seek(0)
            fh.write(patched)


def writer(fmt: str) -> callable:
    def write(chunks: Iterable[pd.DataFrame], layout: Layout) -> Iterator[bytes]:
        return _Writer(fmt, layout).write(chunks)

    write.__name__ = f"write_{fmt}"
    return write
