"""The analyst API, fuzzed from its own OpenAPI document: no 5xx, and every answer is one the document gives.

Schemathesis loads `/api/v1/openapi.json` from the app in process (WSGI, no network) and generates requests
for every operation of it: schema-valid ones (positive) and schema-invalid ones (negative) with an analyst's
live token, and schema-valid ones with no token, a revoked one, an unknown one and a malformed header. Its
default checks run on every response: no server error, a status code, a content type and a body the document
gives for the operation, valid data accepted, invalid data refused, a bad token refused. The document is the
contract scripts are written against, so a check failing here is a defect of the app or of the document.

Derandomised with a bounded number of examples so CI is repeatable and quick; `PRO_APP_FUZZ_EXAMPLES=2000`
(the variable tests/security/test_fuzz.py reads) for a longer, random run.
"""

from __future__ import annotations

import os
from collections import Counter
from types import SimpleNamespace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from sqlalchemy import select

from pro_app.api.openapi import openapi
from pro_app.exports.service import formats_for
from pro_app.extensions import db
from pro_app.models import Site, Study, Timepoint
from pro_app.tokens import services as tokens
from pro_app.users.services import create_user
from tests.support.exports import demo_installation

RANDOM = "PRO_APP_FUZZ_EXAMPLES" in os.environ
#: Examples per test: the downloads (every data set, every format) get the most; a refusal is the same code path
#: whatever the request, so each kind of bad token gets a few.
EXAMPLES = {kind: int(os.environ.get("PRO_APP_FUZZ_EXAMPLES", default))
            for kind, default in (("valid", 50), ("invalid", 30), ("refused", 10))}
OPERATIONS = [f"{method.upper()} {path}" for path, item in openapi()["paths"].items() for method in item]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The demo study (4 participants) served in process, its OpenAPI document loaded by schemathesis from the
    app, and the Authorization headers of each kind of caller."""
    with demo_installation(tmp_path_factory.mktemp("api-fuzz"), participants=4) as installation:
        app = installation.app
        with app.app_context():
            analyst = create_user("analyst@example.org", "analyst", "correct horse battery staple", ["DEMO"])
            study = db.session.scalar(select(Study).where(Study.code == "DEMO"))
            _, live = tokens.create(analyst, "fuzz", [study.id], 30)
            revoked_token, revoked = tokens.create(analyst, "revoked", [study.id], 30)
            tokens.revoke(analyst, revoked_token.id)
            sites = list(db.session.scalars(select(Site.code).where(Site.study_id == study.id)))
            timepoints = list(db.session.scalars(select(Timepoint.code).where(Timepoint.study_id == study.id)))
            db.session.commit()
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        authorization = {"live": f"Bearer {live}", "revoked": f"Bearer {revoked}", "none": None,
                         "unknown": "Bearer " + "x" * len(live), "malformed": "Basic YW5hbHlzdDpwYXNz"}
        yield SimpleNamespace(app=app, schema=schema, authorization=authorization, study="DEMO",
                              sites=sites, timepoints=timepoints)


def _fuzz(api, operation: str, mode: GenerationMode, caller: str, examples: int, adjust=None) -> Counter:
    """Run schemathesis on one operation; returns how many responses of each status code it saw."""
    seen: Counter = Counter()
    cases = api.schema[operation.split(" ", 1)[1]][operation.split(" ", 1)[0]].as_strategy(generation_mode=mode)

    @settings(max_examples=examples, deadline=None, derandomize=not RANDOM, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(case=cases, data=st.data())
    def run(case, data):
        # The token in the case (its checks see a request with or without one) and given to the call (they
        # know it was chosen, not generated, and probe that it is needed).
        header = api.authorization[caller]
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = headers | ({"Authorization": header} if header else {})
        if adjust is not None:
            adjust(case, data)
        response = case.call_and_validate(headers={"Authorization": header} if header else None)
        seen[response.status_code] += 1
        assert response.status_code < 500
        if caller != "live":  # refused before anything is read; control characters are refused even earlier
            assert response.status_code in (400, 401), (caller, response.status_code)
            if response.status_code == 401:
                assert response.headers["www-authenticate"] == ['Bearer realm="pro-app"']

    run()
    return seen


def _mostly_real_values(api):
    """Positive cases that reach the data: the study the token reads (sometimes another code, a 403), its
    sites and timepoints (an unknown one is a documented 400, tested in tests/api), a date range that is not
    empty, stata_version only with format=dta, and a format the data set is written in, as the document says."""
    def adjust(case, data):
        if "code" in (case.path_parameters or {}) and data.draw(st.integers(0, 4), label="study") > 0:
            case.path_parameters["code"] = api.study
        query = case.query or {}
        for name, known in (("site", api.sites), ("timepoint", api.timepoints)):
            if name in query:
                query[name] = data.draw(st.lists(st.sampled_from(known), min_size=1, max_size=2), label=name)
        if query.get("from") and query.get("to") and query["from"] > query["to"]:
            query["from"], query["to"] = query["to"], query["from"]
        name = (case.path_parameters or {}).get("name")
        if name is not None and "format" in query and query["format"] not in formats_for(name):
            query["format"] = formats_for(name)[0]  # fhir is ndjson or json, the others never are
        if query.get("format") != "dta":
            query.pop("stata_version", None)
    return adjust


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS)
def test_schema_valid_requests_with_a_live_token_conform_and_never_fail(api, operation):
    seen = _fuzz(api, operation, GenerationMode.POSITIVE, "live", EXAMPLES["valid"], _mostly_real_values(api))
    assert seen[200] > 0, seen  # the run reached the data, not only the refusals


@pytest.mark.slow
def test_schema_invalid_requests_with_a_live_token_are_refused_with_a_documented_4xx(api):
    seen = _fuzz(api, "GET /studies/{code}/datasets/{name}", GenerationMode.NEGATIVE, "live",
                 EXAMPLES["invalid"], _mostly_real_values(api))
    assert seen[400] > 0, seen  # some are refused as invalid (others stay valid once sent: ?excel=1&excel=x)


@pytest.mark.slow
@pytest.mark.parametrize("caller", ["none", "revoked", "unknown", "malformed"])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_without_a_live_token_every_request_is_refused(api, operation, caller):
    seen = _fuzz(api, operation, GenerationMode.POSITIVE, caller, EXAMPLES["refused"])
    assert seen[401] > 0, seen
