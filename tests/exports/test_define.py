"""define.xml (Define-XML 2.1) for the demo study's CDISC data sets, from `pro-app define`: well-formed, on
the ODM 1.3.2 and Define 2.1 namespaces, an ItemGroupDef per data set listing every variable of its
transport file, an ItemDef per variable, the codebook's allowed values as code lists, derived variables with
methods. The CDISC XML schemas (define2-1-0.xsd) are not available offline here, so the structure is
checked by these tests rather than by schema validation."""

from __future__ import annotations

import pandas as pd
import pytest
from lxml import etree

from pro_app.exports import datasets as D
from pro_app.exports.labelled import coded_values
from tests.support.exports import export_bytes, read_parquet, run_cli

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "xlink": "http://www.w3.org/1999/xlink"}
DATASETS = {"sdtm_qs": "QS", "suppqs": "SUPPQS", "adsl": "ADSL", "adqs": "ADQS"}


@pytest.fixture(scope="module")
def define(demo, tmp_path_factory) -> etree._ElementTree:
    out = tmp_path_factory.mktemp("define") / "define.xml"
    result = run_cli(demo.settings, "define", "--study", "DEMO", "--stylesheet", "define2-1.xsl", "-o", str(out))
    assert result.exit_code == 0, result.output
    return etree.parse(str(out))  # raises on a file that is not well-formed


def test_root_is_odm_1_3_2_with_define_2_1(define):
    root = define.getroot()
    assert root.tag == f"{{{NS['odm']}}}ODM" and root.get("ODMVersion") == "1.3.2"
    assert root.nsmap["def"] == NS["def"] and root.get(f"{{{NS['def']}}}Context") == "Submission"
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    assert mdv.get(f"{{{NS['def']}}}DefineVersion") == "2.1.0"
    assert {s.get("Name") for s in mdv.findall("def:Standards/def:Standard", NS)} == {"SDTMIG", "ADaMIG"}
    pi = root.getprevious()
    assert isinstance(pi, etree._ProcessingInstruction) and 'href="define2-1.xsl"' in pi.text


def test_every_variable_of_every_data_set_is_an_item(demo, define):
    mdv = define.find("odm:Study/odm:MetaDataVersion", NS)
    items = {i.get("OID"): i for i in mdv.findall("odm:ItemDef", NS)}
    codelists = {c.get("OID"): c for c in mdv.findall("odm:CodeList", NS)}
    methods = {m.get("OID") for m in mdv.findall("odm:MethodDef", NS)}
    for dataset, domain in DATASETS.items():
        data = read_parquet(export_bytes(demo.app, "DEMO", dataset, "parquet"))
        group = mdv.find(f"odm:ItemGroupDef[@OID='IG.{domain}']", NS)
        assert group is not None and group.get("Name") == domain
        assert group.find("def:Class", NS).get("Name")
        assert group.find("def:leaf", NS).get(f"{{{NS['xlink']}}}href") == f"{domain.lower()}.xpt"
        refs = group.findall("odm:ItemRef", NS)
        assert [r.get("ItemOID") for r in refs] == [f"IT.{domain}.{c}" for c in data.columns]
        assert [int(r.get("OrderNumber")) for r in refs] == list(range(1, len(refs) + 1))
        assert any(r.get("KeySequence") == "1" for r in refs)
        for ref in refs:
            item = items[ref.get("ItemOID")]
            name = item.get("Name")
            assert item.get("DataType") in {"text", "integer", "float"}
            assert item.find("odm:Description/odm:TranslatedText", NS).text
            origin = item.find("def:Origin", NS)
            assert origin.get("Type") in {"Collected", "Derived", "Assigned", "Predecessor"}
            if origin.get("Type") == "Derived":
                assert ref.get("MethodOID") in methods, name
            if item.get("DataType") == "text":
                longest = data[name].dropna().astype(str).map(lambda v: len(v.encode())).max()
                assert int(item.get("Length")) >= min(200, 0 if pd.isna(longest) else longest), name
            cl_ref = item.find("odm:CodeListRef", NS)
            if cl_ref is not None:
                assert codelists[cl_ref.get("CodeListOID")].findall("odm:CodeListItem", NS)


def test_code_lists_hold_the_codebook_values(demo, define):
    mdv = define.find("odm:Study/odm:MetaDataVersion", NS)
    with demo.app.app_context():
        columns = D.dataset_columns(D.study_by_code("DEMO"))
    for dataset, domain in DATASETS.items():
        for column in columns[dataset]:
            pairs = coded_values(column)
            if not pairs or column.type != "string":
                continue
            codelist = mdv.find(f"odm:CodeList[@OID='CL.{domain}.{column.name}']", NS)
            assert codelist is not None, (domain, column.name)
            found = [(i.get("CodedValue"), i.find("odm:Decode/odm:TranslatedText", NS).text)
                     for i in codelist.findall("odm:CodeListItem", NS)]
            assert found == list(dict(pairs).items())
    paramcd = mdv.find("odm:CodeList[@OID='CL.ADQS.PARAMCD']", NS)
    assert "C30PF2" in {i.get("CodedValue") for i in paramcd.findall("odm:CodeListItem", NS)}


def test_define_refuses_an_unknown_study(demo):
    result = run_cli(demo.settings, "define", "--study", "NOPE")
    assert result.exit_code != 0 and "NOPE" in result.output and "Traceback" not in result.output
