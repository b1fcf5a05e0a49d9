"""The API's fhir data set (ndjson by default, or a Bundle; the same bytes as `pro-app export`) and define.xml
over HTTP (the same document as `pro-app define`), each download audited."""

from __future__ import annotations

import json
import re

from lxml import etree

from tests.api.test_api import bearer, export_events, fetch
from tests.support.exports import cli_export, run_cli

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"


def test_fhir_is_ndjson_by_default_and_a_bundle_on_request_with_the_command_line_bytes(demo_api, tmp_path):
    after = max((e.id for e in export_events(demo_api.app)), default=0)
    plain = fetch(demo_api.client, "/api/v1/studies/DEMO/datasets/fhir", headers=bearer(demo_api.token))
    assert plain.status_code == 200
    assert plain.mimetype == "application/fhir+ndjson"
    assert plain.headers["Content-Disposition"] == 'attachment; filename="DEMO_fhir.ndjson"'
    assert plain.data == cli_export(demo_api.settings, tmp_path / "f.ndjson", "fhir", "ndjson")
    lines = plain.data.decode("utf-8").splitlines()
    bundle = fetch(demo_api.client, "/api/v1/studies/DEMO/datasets/fhir?format=json", headers=bearer(demo_api.token))
    assert bundle.status_code == 200 and bundle.mimetype == "application/fhir+json"
    assert [e["resource"] for e in bundle.json["entry"]] == [json.loads(line) for line in lines]
    events = [e for e in export_events(demo_api.app, after) if e.new["via"].startswith("api:")]
    assert [(e.new["dataset"], e.new["format"], e.new["rows"]) for e in events] == [
        ("fhir", "ndjson", len(lines)), ("fhir", "json", len(lines))]


def test_fhir_refuses_a_tabular_format_and_the_tables_refuse_fhir_formats(demo_api):
    for path, words in (("fhir?format=csv", "ndjson, json"), ("items?format=ndjson", "csv")):
        response = fetch(demo_api.client, f"/api/v1/studies/DEMO/datasets/{path}", headers=bearer(demo_api.token))
        assert response.status_code == 400 and words in response.json["detail"], path


def test_define_xml_over_http_is_the_command_lines_document_and_audited(demo_api, tmp_path):
    after = max((e.id for e in export_events(demo_api.app)), default=0)
    response = fetch(demo_api.client, "/api/v1/studies/DEMO/define.xml", headers=bearer(demo_api.token))
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="define.xml"'
    assert "no-store" in response.headers["Cache-Control"]
    root = etree.fromstring(response.data)
    assert [g.get("Name") for g in root.iter(f"{ODM}ItemGroupDef")] == ["QS", "SUPPQS", "ADSL", "ADQS"]
    cli = run_cli(demo_api.settings, "define", "--study", "DEMO", "-o", str(tmp_path / "define.xml"))
    assert cli.exit_code == 0, cli.output
    stamp = re.compile(rb'CreationDateTime="[^"]*"')
    assert stamp.sub(b"", response.data) == stamp.sub(b"", (tmp_path / "define.xml").read_bytes())
    events = export_events(demo_api.app, after)
    assert [(e.new["dataset"], e.new["format"], e.new["via"]) for e in events] == [
        ("define", "xml", "api:R on my laptop"), ("define", "xml", "cli")]
    assert events[0].user_id == demo_api.ids.user


def test_define_xml_names_a_stylesheet_only_by_a_plain_file_name(demo_api):
    good = fetch(demo_api.client, "/api/v1/studies/DEMO/define.xml?stylesheet=define2-1.xsl",
                 headers=bearer(demo_api.token))
    assert good.status_code == 200
    assert b'<?xml-stylesheet type="text/xsl" href="define2-1.xsl"?>' in good.data
    for bad in ('x"><evil', "../x.xsl", "define.xml"):
        response = fetch(demo_api.client, f"/api/v1/studies/DEMO/define.xml?stylesheet={bad}",
                         headers=bearer(demo_api.token))
        assert response.status_code == 400 and "stylesheet" in response.json["detail"], bad


def test_define_xml_needs_a_token_for_the_study(demo_api):
    assert fetch(demo_api.client, "/api/v1/studies/DEMO/define.xml").status_code == 401
    assert fetch(demo_api.client, "/api/v1/studies/NOPE/define.xml",
                 headers=bearer(demo_api.token)).status_code == 403


def test_the_openapi_document_describes_define_and_the_fhir_formats(demo_api):
    spec = fetch(demo_api.client, "/api/v1/openapi.json").json
    assert "/studies/{code}/define.xml" in spec["paths"]
    fmt = {p["name"]: p for p in spec["paths"]["/studies/{code}/datasets/{name}"]["get"]["parameters"]}["format"]
    assert {"ndjson", "json"} <= set(fmt["schema"]["enum"]) and "fhir" in fmt["description"]
