"""datapackage.json (issue 15): the codebook as a Frictionless descriptor that types every CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest

from pro_app.exports.datapackage import descriptor
from pro_app.exports.datasets import study_by_code
from tests.support.exports import export_bytes, run_cli

CASTS = {"string": str, "integer": int, "number": float, "date": date.fromisoformat,
         "datetime": lambda v: datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ")}


@pytest.fixture(scope="module")
def package(demo):
    with demo.app.app_context():
        return json.loads(json.dumps(descriptor(study_by_code("DEMO"))))  # plain JSON, as a file holds it


def test_every_csv_export_loads_typed_with_its_table_schema(demo, package):
    assert package["profile"] == "tabular-data-package"
    checked = 0
    for resource in package["resources"]:
        schema = resource["schema"]
        data = export_bytes(demo.app, "DEMO", resource["name"])
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        assert rows[0] == [f["name"] for f in schema["fields"]], resource["name"]
        for row in rows[1:]:
            for value, spec in zip(row, schema["fields"], strict=True):
                if value in schema["missingValues"]:
                    continue
                typed = CASTS[spec["type"]](value)
                if "enum" in spec.get("constraints", {}):
                    assert typed in spec["constraints"]["enum"], (resource["name"], spec["name"], value)
                checked += 1
    assert checked > 1000


def test_coded_fields_list_their_codes(package):
    fields = {(r["name"], f["name"]): f for r in package["resources"] for f in r["schema"]["fields"]}
    assert fields[("wide", "q1")]["constraints"]["enum"] == [1, 2, 3, 4]
    assert fields[("items", "mode")]["constraints"]["enum"] == ["self", "assisted", "paper"]
    assert fields[("wide", "PROCTCAE_36A_SCL")]["constraints"]["enum"] == [0, 1, 2, 3, 4]
    assert all(f["title"] for f in fields.values())


def test_the_command_writes_the_descriptor(demo, package, tmp_path):
    out = tmp_path / "datapackage.json"
    result = run_cli(demo.settings, "datapackage", "--study", "DEMO", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text("utf-8")) == package
    assert run_cli(demo.settings, "datapackage", "--study", "NOPE").exit_code == 1
