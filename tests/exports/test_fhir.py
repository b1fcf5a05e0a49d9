"""The fhir data set: every resource `pro-app export` writes for the demo study parses with the FHIR model
classes (fhir.resources, R4B: its Questionnaire, QuestionnaireResponse, Observation and Bundle are R4's; the
package ships no 4.0.1 models), the Questionnaires are the instrument definitions (our wording, both
languages, branching and gates), and the responses and observations say what the items and scores data sets
say: the same answers, states, languages, dates and exact scores."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from pro_app.exports import chunks
from pro_app.exports import fhir as F
from pro_app.instruments import get_instrument
from tests.support.exports import export_bytes, frame, run_cli

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
ABSENT = {"declined": "asked-declined", "branched": "not-applicable", "not_applicable": "not-applicable",
          "not_reached": "not-asked"}


@pytest.fixture(scope="module")
def ndjson(demo, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("fhir") / "DEMO_fhir.ndjson"
    result = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "fhir", "-o", str(out))
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert f"wrote {len(lines)} rows" in result.stderr
    return [json.loads(line) for line in lines]


def of_type(resources: list[dict], kind: str) -> list[dict]:
    return [r for r in resources if r["resourceType"] == kind]


def spanish(element: dict) -> str:
    (extension,) = element["extension"]
    assert extension["url"] == TRANSLATION
    parts = {e["url"]: e for e in extension["extension"]}
    assert parts["lang"]["valueCode"] == "es"
    return parts["content"]["valueString"]


def test_every_resource_parses_as_a_fhir_r4_resource(ndjson):
    """Done-when: the FHIR output parses as valid R4 resources (the model classes refuse unknown elements,
    wrong types and bad codes)."""
    kinds = {r["resourceType"] for r in ndjson}
    assert kinds == {"Questionnaire", "QuestionnaireResponse", "Observation"}
    for resource in ndjson:
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert model.id == resource["id"]


def test_the_bundle_holds_the_same_resources_and_parses(demo, ndjson):
    data = export_bytes(demo.app, "DEMO", "fhir", "json")
    bundle = Bundle.model_validate_json(data)
    assert bundle.type == "collection"
    assert [json.loads(e.resource.model_dump_json())["id"] for e in bundle.entry] == [r["id"] for r in ndjson]
    assert [e["resource"] for e in json.loads(data)["entry"]] == ndjson


def test_a_questionnaire_per_instrument_from_its_definition_in_both_languages(demo, ndjson):
    questionnaires = of_type(ndjson, "Questionnaire")
    assert [q["url"] for q in questionnaires] == [F.questionnaire_url(i) for i in ("qlq_c30", "qlq_br45", "pro_ctcae")]
    for q in questionnaires:
        instrument = get_instrument(q["url"].rsplit(":", 1)[1])
        assert q["version"] == instrument.version and q["language"] == "en"
        assert q["title"] == instrument.title.en and spanish(q["_title"]) == instrument.title.es
        questions = [i for i in q["item"] if i["type"] == "choice"]
        assert [i["linkId"] for i in questions] == list(instrument.item_ids)
        for entry in questions:
            item = instrument.item(entry["linkId"])
            # the wording is the definition's, in both languages (never text from anywhere else)
            assert entry["text"] == item.text.en and spanish(entry["_text"]) == item.text.es
            options = [o["valueCoding"] for o in entry["answerOption"]]
            assert [o["code"] for o in options] == [str(o.value) if o.value is not None else o.code
                                                    for o in item.option_set.options]
            assert [(o["display"], spanish(o["_display"])) for o in options] == [
                (o.label.en, o.label.es) for o in item.option_set.options]
            assert {o["system"] for o in options} == {F.option_system(instrument, item)}
        displays = [i for i in q["item"] if i["type"] == "display"]
        assert displays[0]["text"] == instrument.instructions.en


def test_branching_and_gates_are_enable_when_conditions(ndjson):
    by_url = {q["url"]: {i["linkId"]: i for i in q["item"]} for q in of_type(ndjson, "Questionnaire")}
    ctcae, br45 = by_url[F.questionnaire_url("pro_ctcae")], by_url[F.questionnaire_url("qlq_br45")]
    # PRO-CTCAE: severity "None" (0) skips the interference item; frequency "Never" skips the rest of the term
    assert ctcae["PROCTCAE_3B_SCL"]["enableWhen"] == [{
        "question": "PROCTCAE_3A_SCL", "operator": "!=",
        "answerCoding": {"system": "urn:pro-app:pro_ctcae:options:severity", "code": "0"}}]
    assert ctcae["PROCTCAE_3B_SCL"]["enableBehavior"] == "all"
    assert "enableWhen" not in ctcae["PROCTCAE_3A_SCL"]
    # QLQ-BR45 gates: q35 asked unless q34 is "Not at all"; q46, q72 and q73 unless q45 is
    for item, gate in (("q35", "q34"), ("q46", "q45"), ("q72", "q45"), ("q73", "q45")):
        assert [(c["question"], c["operator"], c["answerCoding"]["code"]) for c in br45[item]["enableWhen"]] == [
            (gate, "!=", "1")], item
        assert br45[item]["item"][0]["type"] == "display"  # the gate's instruction, with its translation
        assert br45[item]["item"][0]["text"] == get_instrument("qlq_br45").item(item).gate.instruction.en
    assert "enableWhen" not in br45["q34"]


def test_responses_say_what_the_items_data_set_says(demo, ndjson):
    items = frame(demo.app, "DEMO", "items")
    responses = of_type(ndjson, "QuestionnaireResponse")
    expected_ids = {f"{a}-{i.replace('_', '-')}" for a, i in set(zip(items["assessment_id"], items["instrument"],
                                                                      strict=True))}
    assert {r["id"] for r in responses} == expected_ids
    states_seen = set()
    for response in responses:
        assessment_id, _ = response["id"].split("-", 1)
        rows = items[items["assessment_id"] == int(assessment_id)]
        instrument = response["questionnaire"].split("|")[0].rsplit(":", 1)[1]
        rows = rows[rows["instrument"] == instrument].set_index("item")
        first = rows.iloc[0]
        assert response["questionnaire"] == f"{F.questionnaire_url(instrument)}|{first['instrument_version']}"
        # the subject is the pseudonymous study code, as an identifier only (no name, no display)
        assert response["subject"] == {"type": "Patient", "identifier": {
            "system": "urn:pro-app:study:DEMO:participant", "value": first["participant"]}}
        assert response["identifier"]["value"] == f"{first['participant']}/{first['timepoint']}/{instrument}"
        if pd.notna(first["language"]):
            assert response["language"] == first["language"]
        if pd.notna(first["completed_at"]):
            assert response["authored"] == first["completed_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
            assert response["status"] in ("completed", "amended", "stopped")
        assert [i["linkId"] for i in response["item"]] == list(rows.index)
        for entry in response["item"]:
            row = rows.loc[entry["linkId"]]
            states_seen.add(row["state"])
            if row["state"] == "answered":
                (answer,) = entry["answer"]
                assert answer["valueCoding"]["code"] == str(row["value"])
                assert answer["valueCoding"]["display"] == row["value_label"]
                assert "extension" not in entry
            elif "answer" in entry:  # an extra option chosen ("Not sexually active"): the patient's answer
                assert entry["answer"][0]["valueCoding"]["display"] == row["value_label"]
            else:
                assert entry["extension"] == [{"url": F.DATA_ABSENT, "valueCode": ABSENT[row["state"]]}]
    assert {"answered", "declined", "branched"} <= states_seen  # the demo data has them all


def test_an_observation_per_score_with_the_exact_value(demo, ndjson):
    scores = frame(demo.app, "DEMO", "scores")
    observations = {o["id"]: o for o in of_type(ndjson, "Observation")}
    assert len(observations) == len(scores)
    composites = {s.code for s in get_instrument("pro_ctcae").scales}
    for row in scores.itertuples(index=False):
        o = observations[f"{row.assessment_id}-{row.scale.replace('_', '-')}"]
        assert o["code"]["coding"][0]["code"] == row.scale
        assert o["subject"]["identifier"]["value"] == row.participant
        assert o["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{row.assessment_id}-"
                                                  f"{row.instrument.replace('_', '-')}"}]
        if pd.isna(row.value):
            assert "valueQuantity" not in o and "valueInteger" not in o
            assert o["dataAbsentReason"]["coding"][0]["code"] == {"insufficient": "unknown"}.get(row.status,
                                                                                              "not-applicable")
        elif row.scale in composites:
            assert o["valueInteger"] == row.value
        else:
            assert o["valueQuantity"]["value"] == row.value  # the stored double, not rounded


def test_the_data_set_is_built_a_chunk_of_participants_at_a_time(demo, monkeypatch, ndjson):
    """Streamed: with chunks of 2 participants the 6 of the demo come in 3 chunks after the Questionnaires,
    and the resources are the same."""
    monkeypatch.setattr(chunks, "CHUNK_PARTICIPANTS", 2)
    with demo.app.app_context():
        from pro_app.exports import datasets as D
        parts = list(D.build(D.study_by_code("DEMO"), "fhir"))
    assert len(parts) == 4
    assert set(parts[0]["resource_type"]) == {"Questionnaire"}
    assert [json.loads(r) for p in parts for r in p["resource"]] == ndjson


def test_fhir_is_written_only_as_ndjson_or_json_and_csv_is_refused(demo, tmp_path):
    bad = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "fhir", "--format", "csv",
                  "-o", str(tmp_path / "x.csv"))
    assert bad.exit_code == 2 and "ndjson or json" in bad.output and not (tmp_path / "x.csv").exists()
    other = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "items", "--format", "ndjson")
    assert other.exit_code == 2 and "csv" in other.output
    stdout = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "fhir", "--site", "BCN")
    assert stdout.exit_code == 0
    sites = {json.loads(line)["subject"]["identifier"]["value"] for line in stdout.stdout.splitlines()
             if '"resourceType":"QuestionnaireResponse"' in line}
    participants = frame(demo.app, "DEMO", "subjects")
    assert sites and sites <= set(participants[participants["site"] == "BCN"]["participant"])


def test_the_codebook_describes_the_fhir_data_set_and_the_data_package_leaves_it_out(demo):
    codebook = frame(demo.app, "DEMO", "codebook")
    assert list(codebook[codebook["dataset"] == "fhir"]["column"]) == ["resource_type", "id", "resource"]
    from pro_app.exports.datapackage import descriptor
    from pro_app.exports.datasets import study_by_code
    with demo.app.app_context():
        names = [r["name"] for r in descriptor(study_by_code("DEMO"))["resources"]]
    assert "fhir" not in names and "sdtm_qs" in names
