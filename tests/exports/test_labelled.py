"""SAS transport, SPSS and labelled Stata files (issue 15): each read back with its reader (pandas.read_sas,
pyreadstat, pandas.read_stata), a label from the codebook on every variable, value labels on every coded
variable (sav, dta), and the SAS version 5 limits: names of 8 characters, labels of 40, text of 200 bytes."""

from __future__ import annotations

import io

import pandas as pd
import pyreadstat
import pytest

from pro_app.exports.columns import Column
from pro_app.exports.labelled import ascii_text, coded_values, cut, sas_names
from tests.support.exports import export_bytes, frame, run_cli

DATASETS = ("items", "scores", "wide", "proae", "compliance", "subjects", "alerts", "sdtm_qs", "suppqs", "adsl", "adqs",
            "codebook")
READERS = {"xpt": pyreadstat.read_xport, "sav": pyreadstat.read_sav, "dta": pyreadstat.read_dta}


def read_back(tmp_path, fmt: str, data: bytes, **kwargs):
    path = tmp_path / f"data.{fmt}"
    path.write_bytes(data)
    return READERS[fmt](str(path), **kwargs)


def codebook_of(demo, dataset: str) -> pd.DataFrame:
    codebook = frame(demo.app, "DEMO", "codebook")
    if dataset == "codebook":
        return pd.DataFrame({"column": list(codebook.columns), "label": "", "values": ""})
    return codebook[codebook["dataset"] == dataset]


def is_coded(row) -> bool:
    """A coded variable: its codebook values name codes the column can hold (an integer column's text codes,
    such as not_applicable, are stored as blanks)."""
    codes = [c for c, _ in coded_values_of(row["values"])]
    if row["type"] == "integer":
        return any(c.lstrip("-").isdigit() for c in codes)
    return bool(codes)


def coded_values_of(text: str):
    return coded_values(Column("x", "x", "string", text))


@pytest.mark.parametrize("fmt", ["sav", "dta"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_spss_and_stata_files_carry_every_label_and_every_value_label(demo, tmp_path, dataset, fmt):
    reference = frame(demo.app, "DEMO", dataset)
    data, meta = read_back(tmp_path, fmt, export_bytes(demo.app, "DEMO", dataset, fmt))
    assert list(data.columns) == list(reference.columns) and len(data) == len(reference)
    labels = meta.column_names_to_labels
    assert all(labels[c] for c in data.columns), [c for c in data.columns if not labels[c]]
    if dataset == "codebook":
        return
    book = codebook_of(demo, dataset).set_index("column")
    for column in data.columns:
        expected = book.loc[column, "label"]
        assert expected.startswith(labels[column]) and len(labels[column]) >= min(len(expected), 40), column
        row = book.loc[column]
        if is_coded(row):
            value_labels = meta.variable_value_labels.get(column)
            assert value_labels, (column, row["values"])
            wanted = {lbl for c, lbl in coded_values_of(row["values"]) if row["type"] != "integer"
                      or c.lstrip("-").isdigit()}
            assert wanted <= set(value_labels.values()), column


def test_spss_keeps_text_codes_and_stata_labels_them_with_the_codebook(demo, tmp_path):
    items = frame(demo.app, "DEMO", "items")
    sav, sav_meta = read_back(tmp_path, "sav", export_bytes(demo.app, "DEMO", "items", "sav"))
    assert sav["state"].tolist() == items["state"].tolist()
    assert sav_meta.variable_value_labels["state"]["declined"] == "skipped by the patient"
    stata = pd.read_stata(io.BytesIO(export_bytes(demo.app, "DEMO", "items", "dta")))
    labels = dict(coded_values_of(
        codebook_of(demo, "items").set_index("column").loc["state", "values"]))
    assert stata["state"].astype(str).tolist() == [labels[s] for s in items["state"]]
    wide = pd.read_stata(io.BytesIO(export_bytes(demo.app, "DEMO", "wide", "dta")))
    answered = wide["q1"].dropna()
    assert len(answered) and set(answered.astype(str)) <= {"Not at all", "A little", "Quite a bit", "Very much"}


def test_stata_12_is_format_115_with_short_text_and_14_is_format_118(demo, tmp_path):
    old = export_bytes(demo.app, "DEMO", "items", "dta", stata_version=12)
    new = export_bytes(demo.app, "DEMO", "items", "dta")
    assert old[0] == 115  # the format R's foreign::read.dta reads (Stata 5 to 12)
    assert new.startswith(b"<stata_dta><header><release>118</release>")
    data, meta = read_back(tmp_path, "dta", old, encoding="utf-8")
    assert len(data) == len(frame(demo.app, "DEMO", "items"))
    assert all(len(v.encode("utf-8")) <= 243 for v in data["item_label"])
    assert meta.variable_value_labels["state"]
    assert len(pd.read_stata(io.BytesIO(old))) == len(data)


@pytest.mark.parametrize("dataset", DATASETS)
def test_sas_transport_v5_reads_back_with_names_labels_and_text_within_the_limits(demo, tmp_path, dataset):
    reference = frame(demo.app, "DEMO", dataset)
    data_bytes = export_bytes(demo.app, "DEMO", dataset, "xpt")
    with pd.read_sas(io.BytesIO(data_bytes), format="xport", encoding="utf-8", iterator=True) as reader:
        fields = reader.fields
        assert reader.member_info["version"] == "6.06"  # the version 5 layout's header says SAS 6.06
        rows = reader.read()
    assert len(rows) == len(reference)
    renamed = sas_names(list(reference.columns))
    assert [f["name"].decode() for f in fields] == [renamed[c] for c in reference.columns]
    assert all(len(f["name"]) <= 8 and 0 < len(f["label"]) <= 40 for f in fields)
    assert all(f["label"].decode("ascii") for f in fields)
    for f in fields:
        if f["ntype"] == "char":
            assert f["field_length"] <= 200
    if dataset != "codebook":
        book = codebook_of(demo, dataset).set_index("column")
        xpt = frame(demo.app, "DEMO", "codebook")
        xpt = xpt[xpt["dataset"] == dataset].set_index("column")["xpt_name"]
        for column in reference.columns:
            assert xpt[column] == renamed[column]
            label = dict((f["name"].decode(), f["label"].decode()) for f in fields)[renamed[column]]
            if renamed[column] != column.upper():
                assert label.startswith(column[:39]), (column, label)  # the original name stays in the file
            else:
                assert label == ascii_text(book.loc[column, "label"])[:40].rstrip(), (column, label)


def test_sas_names_are_unique_deterministic_and_at_most_8_characters():
    names = ["participant", "assessment_status", "PROCTCAE_8A_SCL", "PROCTCAE_8B_SCL", "PROCTCAE_8_COMP",
             "PROCTCAE_16A_SCL", "q1", "some_very_long_name", "some_very_long_other", "1st"]
    out = sas_names(names)
    assert out == sas_names(names)
    assert out["participant"] == "SUBJECT" and out["q1"] == "Q1"
    assert out["PROCTCAE_8A_SCL"] == "PC8AS" and out["PROCTCAE_8_COMP"] == "PC8C"
    assert out["some_very_long_name"] == "SOMEVERY" and out["some_very_long_other"] == "SOMEVER2"
    assert out["1st"] == "_1ST"
    assert len(set(out.values())) == len(names) and all(len(v) <= 8 for v in out.values())


def test_text_over_200_bytes_is_cut_in_sas_transport(demo):
    codebook = frame(demo.app, "DEMO", "codebook")
    longest = codebook["values"].str.len().idxmax()
    assert len(codebook["values"][longest].encode()) > 200
    rows = pd.read_sas(io.BytesIO(export_bytes(demo.app, "DEMO", "codebook", "xpt")), format="xport",
                       encoding="utf-8")
    # transport files pad text with blanks, so a cut that ends on a blank reads back without it
    assert rows["VALUES"][longest] == cut(codebook["values"][longest], 200).rstrip()
    assert rows["VALUES"].map(lambda v: len(v.encode())).max() <= 200


@pytest.mark.parametrize("fmt", ["xpt", "sav", "dta"])
def test_the_command_line_writes_the_same_bytes_every_time(demo, tmp_path, fmt):
    """No wall-clock time in the file: the command line and the API serve identical files."""
    first = export_bytes(demo.app, "DEMO", "compliance", fmt)
    out = tmp_path / f"c.{fmt}"
    result = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "compliance", "--format", fmt,
                     "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == first


def test_stata_version_is_for_dta_only_and_checked(demo, tmp_path):
    bad = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "scores", "--format", "dta",
                  "--stata-version", "9", "-o", str(tmp_path / "x.dta"))
    assert bad.exit_code == 2 and "12" in bad.output and "14" in bad.output
    wrong = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "scores", "--format", "csv",
                    "--stata-version", "12", "-o", str(tmp_path / "x.csv"))
    assert wrong.exit_code != 0 and "dta" in wrong.output
    good = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "scores", "--format", "dta",
                   "--stata-version", "12", "-o", str(tmp_path / "x.dta"))
    assert good.exit_code == 0 and (tmp_path / "x.dta").read_bytes()[0] == 115
