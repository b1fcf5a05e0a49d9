"""Writing data-set chunks as CSV, Parquet or XLSX (Stata, SPSS and SAS files: labelled.py), and the FHIR
data set's resources as NDJSON or a Bundle. Text cells are neutralised against spreadsheet formula injection
(SECURITY.md §9); numbers stay numbers. Every writer here streams chunk by chunk."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ..instruments.scorefile import FORMULA_STARTS

FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "dta": "application/x-stata-dta", "sav": "application/x-spss-sav", "xpt": "application/x-sas-xport",
           "json": "application/fhir+json; charset=utf-8", "ndjson": "application/fhir+ndjson; charset=utf-8"}
#: The formats of the fhir data set (and only of it): its resources, one JSON object per line or in a Bundle.
RESOURCE_FORMATS = ("ndjson", "json")
FIXED_TIME = datetime(2000, 1, 1)  # workbook properties: no wall-clock time in the file


#: An ISO 8601 duration before an evaluation time (SDTM QSEVLINT, "-P1W"): letters and digits only after
#: its minus, so nothing a spreadsheet could run; left as it is.
_ISO_DURATION = r"^-P(?:\d+[YMWD])+$"

#: What an object column may hold and still be left alone: values no spreadsheet reads as a formula.
_NOT_TEXT = {"empty", "date", "datetime", "datetime64", "integer", "floating", "decimal", "boolean"}


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix an apostrophe to text cells that a spreadsheet would read as a formula."""
    replaced = {}
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.StringDtype) or (
                pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(frame[name]) not in _NOT_TEXT):
            column = frame[name]
            text = column if isinstance(dtype, pd.StringDtype) else column.astype("string")
            starts = text.str.startswith(FORMULA_STARTS)
            if not starts.any():  # the common case: nothing to match against the duration pattern
                continue
            risky = (starts & ~text.str.fullmatch(_ISO_DURATION)).fillna(False)
            if risky.any():
                replaced[name] = column.where(~risky, "'" + text)
    return frame.assign(**replaced) if replaced else frame


def _csv_table(frame: pd.DataFrame) -> pa.Table:
    """The chunk as Arrow, timestamps as ISO 8601 text in UTC with a Z (to the second); dates are ISO already."""
    table = _arrow(frame, None)
    for n, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            # The UTC wall time without its zone: Arrow then formats it without a zone lookup per value.
            utc = table.column(n).cast(pa.timestamp("s", "UTC"), safe=False).cast(pa.timestamp("s"))
            text = pc.replace_substring(utc.cast(pa.string()), " ", "T", max_replacements=1)
            table = table.set_column(n, field.name, pc.binary_join_element_wise(text, "Z", ""))
    return table


def write_csv(chunks: Iterable[pd.DataFrame], excel: bool = False) -> Iterator[bytes]:
    """UTF-8 CSV (RFC 4180: CRLF line ends, text quoted), header once; `excel` adds a byte-order mark so
    Excel reads the accents right. Arrow's writer formats numbers as the shortest text that reads back to
    the same value, and writes missing values as empty cells."""
    first = True
    for chunk in chunks:
        sink = pa.BufferOutputStream()
        options = pa_csv.WriteOptions(include_header=first, eol="\r\n", quoting_header="none")
        pa_csv.write_csv(_csv_table(neutralise(chunk)), sink, write_options=options)
        data = sink.getvalue().to_pybytes()
        if first and excel:
            data = b"\xef\xbb\xbf" + data
        first = False
        yield data


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out as they come, so Parquet can stream."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Give text columns a text type even when a chunk holds only blanks, and timestamps one unit, so
    every chunk of a data set maps to the same Parquet schema."""
    changed = {}
    for position, dtype in enumerate(frame.dtypes):  # by dtype first: a wide chunk has hundreds of number columns
        if isinstance(dtype, pd.DatetimeTZDtype):
            changed[position] = frame.iloc[:, position].astype("datetime64[us, UTC]")
        elif isinstance(dtype, pd.StringDtype):
            changed[position] = frame.iloc[:, position].astype(pd.StringDtype())  # one text type for any pandas made
        elif pd.api.types.is_object_dtype(dtype):
            column = frame.iloc[:, position]
            if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
                changed[position] = column.astype(pd.StringDtype())
    if not changed:
        return frame
    frame = frame.copy(deep=False)
    for position, column in changed.items():
        frame.isetitem(position, column)
    return frame


def _arrow(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    table = pa.Table.from_pandas(_typed(frame), preserve_index=False)
    if schema is None:
        return table
    return table.cast(schema)


def write_parquet(chunks: Iterable[pd.DataFrame]) -> Iterator[bytes]:
    sink = _Drain()
    writer: pq.ParquetWriter | None = None
    for chunk in chunks:
        table = _arrow(chunk, writer.schema if writer else None)
        if writer is None:
            writer = pq.ParquetWriter(sink, table.schema)
        writer.write_table(table)
        yield sink.take()
    if writer is not None:
        writer.close()
        yield sink.take()


def _cell_value(value):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").tz_localize(None).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def write_xlsx(chunks: Iterable[pd.DataFrame], sheet: str = "data") -> Iterator[bytes]:
    """One sheet, written row by row in openpyxl's write-only mode; text cells are stored as text,
    never as formulas."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    header_done = False
    for chunk in chunks:
        safe = neutralise(chunk)
        if not header_done:
            worksheet.append([str(c) for c in safe.columns])
            header_done = True
        for row in safe.itertuples(index=False, name=None):
            cells = []
            for value in row:
                value = _cell_value(value)
                if isinstance(value, str):
                    cell = WriteOnlyCell(worksheet, value=value)
                    cell.data_type = "s"
                    cells.append(cell)
                else:
                    cells.append(value)
            worksheet.append(cells)
    workbook.properties.creator = "pro-app"
    workbook.properties.created = workbook.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    yield _without_timestamps(buffer.getvalue())


def _without_timestamps(xlsx: bytes) -> bytes:
    """The same workbook with fixed zip-entry times, so one data set always gives the same bytes
    (the command line and the API serve identical files)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", data)
            target.writestr(fixed, data)
    return out.getvalue()


def write_ndjson(chunks: Iterable[pd.DataFrame]) -> Iterator[bytes]:
    """The `resource` column's JSON objects, one per line (FHIR NDJSON), UTF-8."""
    for chunk in chunks:
        if len(chunk):
            yield ("\n".join(chunk["resource"]) + "\n").encode("utf-8")


def write_bundle(chunks: Iterable[pd.DataFrame]) -> Iterator[bytes]:
    """The `resource` column's JSON objects as the entries of one FHIR Bundle of type collection, streamed
    (no timestamp: one data set always gives the same bytes)."""
    yield b'{"resourceType":"Bundle","type":"collection","entry":['
    first = True
    for chunk in chunks:
        if not len(chunk):
            continue
        entries = ",".join(f'{{"resource":{resource}}}' for resource in chunk["resource"])
        yield (entries if first else "," + entries).encode("utf-8")
        first = False
    yield b"]}\n"


#: The formats written here; xpt, sav and dta are labelled.py's (they need the codebook columns).
WRITERS = {"csv": write_csv, "parquet": write_parquet, "xlsx": write_xlsx, "ndjson": write_ndjson,
           "json": write_bundle}
