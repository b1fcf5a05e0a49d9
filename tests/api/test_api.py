"""The analyst API: tokens made and revoked on the staff pages, downloads with `Authorization: Bearer`, the
same bytes as `pro-app export`, every invalid token refused, every download audited, an OpenAPI description.

Database work happens in short app contexts between requests, never around them.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pandas as pd
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import delete, select

from pro_app.clock import utcnow
from pro_app.exports.datasets import DATASETS
from pro_app.exports.service import formats_for
from pro_app.exports.writers import FORMATS
from pro_app.extensions import db
from pro_app.models import ApiToken, AuditEvent, Site, StudyGrant, User
from pro_app.tokens import services as tokens
from tests.support.exports import cli_export, read_csv, run_cli
from tests.support.http import csrf_token, login

DATASET_PATH = "/studies/{code}/datasets/{name}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def url(code: str = "DEMO", name: str = "compliance", **query) -> str:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/api/v1/studies/{code}/datasets/{name}" + (f"?{params}" if params else "")


def fetch(client, path: str, headers: dict | None = None, method: str = "GET"):
    """One request, its body read at once: a streamed response left unread keeps its request context (and its
    database session) alive on this thread, which a real server never does between requests."""
    response = client.open(path, method=method, headers=headers or {})
    response.get_data()
    response.close()
    return response


def html(response) -> str:
    return response.get_data(as_text=True)


def make_token(app, user_id: int, study_ids: list[int], name: str = "script", days: int = 30) -> tuple[int, str]:
    with app.app_context():
        token, plain = tokens.create(db.session.get(User, user_id), name, study_ids, days)
        db.session.commit()
        return token.id, plain


def export_events(app, after: int = 0) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export", AuditEvent.id > after)
                                    .order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return events


def last_event_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.coalesce(db.func.max(AuditEvent.id), 0)))


def assert_refused(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.data[:200])
    assert response.is_json and response.json["status"] == status and response.json["detail"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture
def study(create_study):
    return create_study(code="NCT0000001", terms=[17], instruments=["qlq_c30", "pro_ctcae"])


@pytest.fixture
def analyst(study, create_staff, create_participant):
    """An analyst of the study (which has one participant, so `compliance` has rows)."""
    create_participant(study)
    return create_staff(email="analyst@example.org", role="analyst", studies=[study])


# --- tokens on the staff pages ----------------------------------------------------------------------------

def create_on_page(client, study_ids: list[int], name: str = "R on my laptop", days: str = "30"):
    page = client.get("/staff/tokens")
    return client.post("/staff/tokens", data={"name": name, "studies": [str(i) for i in study_ids], "days": days,
                                              "csrf_token": csrf_token(html(page))})


def all_stored_text(app) -> str:
    """Every value of every row of every table, as text."""
    with app.app_context():
        parts = []
        for table in db.metadata.sorted_tables:
            parts.extend(repr(tuple(row)) for row in db.session.execute(select(table)).all())
        return "\n".join(parts)


def test_token_lifecycle_on_the_staff_pages(app, client, study, analyst):
    assert login(client, analyst.email).status_code == 302
    assert client.get("/staff/tokens").status_code == 200
    created = create_on_page(client, [study.id], name="R on my laptop", days="30")
    assert created.status_code == 200
    plain = re.search(r'data-testid="api-token">([^<]+)<', html(created)).group(1)
    assert plain.startswith("proapp_") and len(plain) >= 40

    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert token.name == "R on my laptop" and token.user_id == analyst.id
        assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
        assert token.prefix == plain[:12]
        assert [s.code for s in token.studies] == [study.code]
        assert abs(token.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=5)
        assert token.revoked_at is None and token.last_used_at is None
        token_id, prefix = token.id, token.prefix
    assert plain not in all_stored_text(app), "only the hash is stored, nowhere the token itself"

    listing = html(client.get("/staff/tokens"))
    assert plain not in listing, "shown once, on creation only"
    assert prefix in listing and "R on my laptop" in listing and "Active" in listing

    api = app.test_client()  # an analyst's script: no cookie, just the token
    assert fetch(api, url(study.code), headers=bearer(plain)).status_code == 200
    with app.app_context():
        assert db.session.get(ApiToken, token_id).last_used_at is not None

    page = client.get("/staff/tokens")
    revoked = client.post(f"/staff/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(html(page))})
    assert revoked.status_code == 302
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is not None
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "api_token")
                                     .order_by(AuditEvent.id)).all()
    assert actions == ["token.create", "token.revoke"]
    assert "Revoked" in html(client.get("/staff/tokens"))
    assert_refused(fetch(api, url(study.code), headers=bearer(plain)), 401)


def test_revoking_needs_the_form_token_and_the_owner(app, client, study, analyst, create_staff):
    token_id, plain = make_token(app, analyst.id, [study.id])
    other = create_staff(email="other@example.org", role="analyst", studies=[study])
    login(client, other.email)
    page = client.get("/staff/tokens")
    assert client.post(f"/staff/tokens/{token_id}/revoke").status_code == 303  # no CSRF token: back, unchanged
    assert client.post(f"/staff/tokens/{token_id}/revoke",
                       data={"csrf_token": csrf_token(html(page))}).status_code == 404  # not theirs
    assert plain[:12] not in html(page), "another analyst's tokens are not listed"
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None

    admin = create_staff(email="admin@example.org", role="admin")
    admin_client = app.test_client()
    login(admin_client, admin.email)
    page = admin_client.get("/staff/tokens")
    assert plain[:12] in html(page)
    assert admin_client.post(f"/staff/tokens/{token_id}/revoke",
                             data={"csrf_token": csrf_token(html(page))}).status_code == 302
    assert_refused(fetch(app.test_client(), url(study.code), headers=bearer(plain)), 401)


def test_a_coordinator_cannot_create_tokens(app, client, study, create_staff):
    coordinator = create_staff(email="coordinator@example.org", role="coordinator", studies=[study])
    login(client, coordinator.email)
    assert client.get("/staff/tokens").status_code == 403
    dashboard = client.get("/staff/")
    response = client.post("/staff/tokens", data={"name": "x", "studies": [str(study.id)], "days": "30",
                                                  "csrf_token": csrf_token(html(dashboard))})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == 0
        with pytest.raises(tokens.TokenError):
            tokens.create(db.session.get(User, coordinator.id), "x", [study.id], 30)


def test_token_form_refuses_a_bad_lifetime(app, client, study, analyst):
    login(client, analyst.email)
    for days in ("0", "366", "abc", ""):
        assert create_on_page(client, [study.id], days=days).status_code == 400, days
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == 0


def test_token_form_refuses_a_study_the_analyst_cannot_see(app, client, study, analyst, create_study):
    elsewhere = create_study(code="NCT0000002")
    login(client, analyst.email)
    page = html(client.get("/staff/tokens"))
    assert "NCT0000002" not in page
    assert create_on_page(client, [elsewhere.id]).status_code == 400
    assert create_on_page(client, []).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == 0


# --- the same bytes as the command line -------------------------------------------------------------------

@pytest.mark.parametrize("dataset", DATASETS)
def test_api_serves_the_same_bytes_as_the_command_line(demo_api, tmp_path, dataset):
    for fmt in [f for f in ("csv", "parquet", "xlsx", "ndjson", "json") if f in formats_for(dataset)]:
        response = fetch(demo_api.client, url("DEMO", dataset, format=fmt), headers=bearer(demo_api.token))
        assert response.status_code == 200, response.data[:300]
        cli = cli_export(demo_api.settings, tmp_path / f"{dataset}.{fmt}", dataset, fmt)
        assert response.data == cli, (dataset, fmt)
        assert response.headers["Content-Disposition"] == f'attachment; filename="DEMO_{dataset}.{fmt}"'
        assert response.mimetype == FORMATS[fmt].split(";")[0]
        assert "no-store" in response.headers["Cache-Control"]


def test_api_filters_and_excel_option_match_the_command_line(demo_api, tmp_path):
    query = "site=BCN&timepoint=baseline&timepoint=wk12&from=2000-01-01&to=2100-12-31&excel=1"
    response = fetch(demo_api.client, url("DEMO", "scores") + "?" + query, headers=bearer(demo_api.token))
    assert response.status_code == 200
    cli = cli_export(demo_api.settings, tmp_path / "scores.csv", "scores", "csv", "--site", "BCN",
                     "--timepoint", "baseline", "--timepoint", "wk12", "--from", "2000-01-01", "--to", "2100-12-31",
                     "--excel")
    assert response.data == cli and cli.startswith(b"\xef\xbb\xbf")
    rows = read_csv(response.data[3:])
    assert len(rows) > 0 and set(rows["site"]) == {"BCN"} and set(rows["timepoint"]) <= {"baseline", "wk12"}


@pytest.mark.parametrize(("query", "option"), [
    ("site=XXX", ["--site", "XXX"]),
    ("timepoint=week12", ["--timepoint", "week12"]),
    ("from=2026-03-01&to=2026-02-01", ["--from", "2026-03-01", "--to", "2026-02-01"]),
], ids=["site", "timepoint", "from-after-to"])
def test_api_refuses_filters_that_keep_nothing_with_the_command_line_message(demo_api, query, option):
    response = fetch(demo_api.client, url("DEMO", "scores") + "?" + query, headers=bearer(demo_api.token))
    assert_refused(response, 400)
    cli = run_cli(demo_api.settings, "export", "--study", "DEMO", "--dataset", "scores", *option)
    assert cli.exit_code == 2
    assert " ".join(response.json["detail"].split()) in " ".join(cli.output.split())


def test_dta_downloads(demo_api):
    response = fetch(demo_api.client, url("DEMO", "compliance", format="dta"), headers=bearer(demo_api.token))
    assert response.status_code == 200
    assert "participant" in pd.read_stata(io.BytesIO(response.data)).columns


def test_labelled_formats_download_and_the_stata_version_is_checked_and_audited(demo_api):
    before = max([e.id for e in export_events(demo_api.app)], default=0)
    for fmt in ("sav", "xpt"):
        response = fetch(demo_api.client, url("DEMO", "scores", format=fmt), headers=bearer(demo_api.token))
        assert response.status_code == 200 and response.mimetype == FORMATS[fmt]
    old = fetch(demo_api.client, url("DEMO", "scores", format="dta", stata_version="12"),
                headers=bearer(demo_api.token))
    assert old.status_code == 200 and old.data[0] == 115
    for query in ({"format": "csv", "stata_version": "12"}, {"format": "dta", "stata_version": "9"}):
        refused = fetch(demo_api.client, url("DEMO", "scores", **query), headers=bearer(demo_api.token))
        assert refused.status_code == 400 and "12, 13, 14" in refused.json["detail"], query
    taken = [(e.new["format"], e.new.get("stata_version")) for e in export_events(demo_api.app, before)]
    assert taken == [("sav", None), ("xpt", None), ("dta", 12)]


def test_csv_content_type_names_the_charset_once(demo_api):
    response = fetch(demo_api.client, url("DEMO", "compliance"), headers=bearer(demo_api.token))
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


# --- refusals ---------------------------------------------------------------------------------------------

def test_missing_malformed_or_unknown_token_is_401(app, study, analyst):
    _, plain = make_token(app, analyst.id, [study.id])
    client = app.test_client()
    for header in (None, "", "Bearer", "Bearer ", "Token {t}", "Basic dXNlcjpwYXNz", "{t}",
                   "Bearer proapp_notarealtokenatall", "Bearer {t}x", "Bearer x{t}", "Bearer {t} {t}"):
        headers = {} if header is None else {"Authorization": header.format(t=plain)}
        assert_refused(fetch(client, url(study.code), headers=headers), 401)
        assert_refused(fetch(client, "/api/v1/studies", headers=headers), 401)
    assert fetch(client, url(study.code), headers=bearer(plain)).status_code == 200  # the token itself works
    assert len(export_events(app)) == 1


def test_revoked_and_expired_tokens_are_401(app, study, analyst):
    revoked_id, revoked = make_token(app, analyst.id, [study.id], name="revoked")
    expired_id, expired = make_token(app, analyst.id, [study.id], name="expired")
    _, live = make_token(app, analyst.id, [study.id], name="live")
    with app.app_context():
        tokens.revoke(db.session.get(User, analyst.id), revoked_id)
        db.session.get(ApiToken, expired_id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    client = app.test_client()
    assert_refused(fetch(client, url(study.code), headers=bearer(revoked)), 401)
    assert_refused(fetch(client, url(study.code), headers=bearer(expired)), 401)
    assert fetch(client, url(study.code), headers=bearer(live)).status_code == 200
    assert_refused(fetch(client, "/api/v1/studies", headers=bearer(expired)), 401)


def test_token_for_another_study_is_403(app, study, analyst, create_study, create_staff):
    other = create_study(code="NCT0000002")
    both = create_staff(email="both@example.org", role="analyst", studies=[study, other])
    _, only_first = make_token(app, both.id, [study.id])
    client = app.test_client()
    assert_refused(fetch(client, url("NCT0000002"), headers=bearer(only_first)), 403)
    assert_refused(fetch(client, url("NO-SUCH-STUDY"), headers=bearer(only_first)), 403)  # no hint it exists
    assert fetch(client, url(study.code), headers=bearer(only_first)).status_code == 200
    assert [s["code"] for s in fetch(client, "/api/v1/studies", headers=bearer(only_first)).json] == [study.code]


def test_owner_losing_the_grant_or_the_account_loses_the_token(app, study, analyst, create_staff):
    _, plain = make_token(app, analyst.id, [study.id])
    second = create_staff(email="second@example.org", role="analyst", studies=[study])
    _, plain2 = make_token(app, second.id, [study.id])
    demoted = create_staff(email="demoted@example.org", role="analyst", studies=[study])
    _, plain3 = make_token(app, demoted.id, [study.id])
    client = app.test_client()
    with app.app_context():
        db.session.execute(delete(StudyGrant).where(StudyGrant.user_id == analyst.id))
        db.session.get(User, second.id).active = False
        db.session.get(User, demoted.id).role = "coordinator"
        db.session.commit()
    assert_refused(fetch(client, url(study.code), headers=bearer(plain)), 403)
    assert fetch(client, "/api/v1/studies", headers=bearer(plain)).json == []
    assert_refused(fetch(client, url(study.code), headers=bearer(plain2)), 401)
    assert_refused(fetch(client, url(study.code), headers=bearer(plain3)), 401)
    assert export_events(app) == []


def test_tokens_of_a_disabled_user_stay_dead_after_the_account_is_enabled_again(app, study, analyst, create_staff):
    _, plain = make_token(app, analyst.id, [study.id])
    assert fetch(app.test_client(), url(study.code), headers=bearer(plain)).status_code == 200
    admin = create_staff(email="admin@example.org", role="admin")
    browser = app.test_client()
    login(browser, admin.email)

    def set_active(active: bool) -> None:
        page = f"/staff/admin/users/{analyst.id}"
        data = {"role": "analyst", "grants": [str(study.id)], "reason": "Leave", "csrf_token": csrf_token(
            html(browser.get(page)))} | ({"active": "y"} if active else {})
        assert browser.post(page, data=data).status_code == 302

    set_active(False)
    assert_refused(fetch(app.test_client(), url(study.code), headers=bearer(plain)), 401)
    set_active(True)
    assert_refused(fetch(app.test_client(), url(study.code), headers=bearer(plain)), 401)  # still dead
    with app.app_context():
        revoked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "token.revoke")).all()
        assert [(e.user_id, e.reason) for e in revoked] == [(admin.id, "account disabled")]
    # A token issued after the return works.
    _, fresh = make_token(app, analyst.id, [study.id])
    assert fetch(app.test_client(), url(study.code), headers=bearer(fresh)).status_code == 200


def test_bad_requests_are_clear_4xx(app, study, analyst):
    _, plain = make_token(app, analyst.id, [study.id])
    client = app.test_client()
    for path, status in [
        (url(study.code, format="xls"), 400),
        (url(study.code, format="CSV"), 400),
        (url(study.code, name="itemz"), 404),
        (url(study.code, name="itemz", format="sav"), 404),  # the data set is checked first
        (url(study.code, **{"from": "2026-02-30"}), 400),
        (url(study.code, to="21/11/2026"), 400),
        (url(study.code, **{"from": "yesterday"}), 400),
    ]:
        assert_refused(fetch(client, path, headers=bearer(plain)), status)
    assert export_events(app) == []


def test_values_the_document_does_not_allow_are_refused_not_silently_ignored(app, study, analyst):
    """Found by tests/security/test_api_schemathesis.py: `excel=true` gave a CSV without the byte-order mark it
    asked for, and an empty `from=` gave every row, unfiltered, where the document allows neither."""
    _, plain = make_token(app, analyst.id, [study.id])
    client = app.test_client()
    for path in (url(study.code, excel="true"), url(study.code, excel=""), url(study.code, **{"from": ""}),
                 url(study.code, to="")):
        assert_refused(fetch(client, path, headers=bearer(plain)), 400)
    for path in (url(study.code, excel="1"), url(study.code, excel="0")):
        assert fetch(client, path, headers=bearer(plain)).status_code == 200


def test_every_error_on_an_api_path_is_a_json_problem(app, study, analyst):
    """Found by tests/security/test_api_schemathesis.py: a control character in the query (refused before any
    view) was answered with the HTML error page, where the document promises application/json; so were an
    unknown API path and a method not allowed."""
    _, plain = make_token(app, analyst.id, [study.id])
    client = app.test_client()
    assert_refused(fetch(client, url(study.code, site="B%13CN"), headers=bearer(plain)), 400)
    assert_refused(fetch(client, "/api/v1/studies?x=%00"), 400)
    assert_refused(fetch(client, "/api/v1/studies/DEMO/dataset", headers=bearer(plain)), 404)
    assert_refused(fetch(client, "/api/v1/studies", headers=bearer(plain), method="DELETE"), 405)
    assert "<html" in html(fetch(client, "/staff/?x=%00"))  # the staff pages keep their error page


def test_the_bearer_scheme_is_case_insensitive(app, study, analyst):
    _, plain = make_token(app, analyst.id, [study.id])
    assert fetch(app.test_client(), url(study.code), headers={"Authorization": f"bearer {plain}"}).status_code == 200


def test_a_site_restricted_analyst_gets_only_that_sites_rows(app, study, create_staff, create_participant):
    create_participant(study, code="P-BCN", site_code="BCN")
    create_participant(study, code="P-MIA", site_code="MIA")
    analyst = create_staff(email="bcn@example.org", role="analyst")
    with app.app_context():
        site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == "BCN"))
        db.session.add(StudyGrant(user_id=analyst.id, study_id=study.id, site_id=site.id))
        db.session.commit()
    _, plain = make_token(app, analyst.id, [study.id])
    response = fetch(app.test_client(), url(study.code), headers=bearer(plain))
    assert response.status_code == 403 or set(read_csv(response.data)["participant"]) == {"P-BCN"}
    define = fetch(app.test_client(), f"/api/v1/studies/{study.code}/define.xml", headers=bearer(plain))
    assert define.status_code == 403 and "some sites" in define.json["detail"]  # its lengths are every site's


# --- audit, cookies, read-only ----------------------------------------------------------------------------

def test_every_download_is_audited_with_user_token_filters_and_rows(app, study, analyst, create_participant):
    create_participant(study, code="P-MIA", site_code="MIA")
    token_id, plain = make_token(app, analyst.id, [study.id], name="nightly R job")
    client = app.test_client()
    first = fetch(client, url(study.code), headers=bearer(plain))
    second = fetch(client, url(study.code, "compliance", format="parquet", site="MIA", timepoint="wk12",
                            **{"from": "2000-01-01", "to": "2100-01-01"}), headers=bearer(plain))
    codebook = fetch(client, url(study.code, "codebook"), headers=bearer(plain))
    assert {first.status_code, second.status_code, codebook.status_code} == {200}
    assert_refused(fetch(client, url(study.code, format="bad"), headers=bearer(plain)), 400)
    events = export_events(app)
    assert len(events) == 3, "one record per download, none for the refused request"
    with app.app_context():
        study_id = study.id
    for event in events:
        assert (event.actor, event.user_id, event.study_id, event.entity, event.entity_id) == (
            "user", analyst.id, study_id, "study", study_id)
        assert event.new["via"] == "api:nightly R job"
    assert events[0].new == {"dataset": "compliance", "format": "csv", "rows": len(read_csv(first.data)),
                             "via": "api:nightly R job",
                             "filters": {"sites": [], "timepoints": [], "date_from": None, "date_to": None}}
    assert len(read_csv(first.data)) == 8
    assert events[1].new["filters"] == {"sites": ["MIA"], "timepoints": ["wk12"], "date_from": "2000-01-01",
                                        "date_to": "2100-01-01"}
    assert events[1].new["rows"] == 1 and events[1].new["format"] == "parquet"
    assert events[2].new["dataset"] == "codebook" and events[2].new["rows"] == len(read_csv(codebook.data))


def test_the_api_ignores_cookies_and_needs_no_csrf(app, client, study, analyst):
    login(client, analyst.email)  # a live staff session cookie on this client
    assert client.get("/staff/tokens").status_code == 200
    assert_refused(fetch(client, url(study.code)), 401)
    assert_refused(fetch(client, "/api/v1/studies"), 401)
    _, plain = make_token(app, analyst.id, [study.id])
    response = fetch(client, url(study.code), headers=bearer(plain))  # a GET with no form token: no CSRF needed
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    fresh = fetch(app.test_client(), url(study.code), headers=bearer(plain))
    assert "Set-Cookie" not in fresh.headers and fresh.data == response.data


def test_the_api_is_read_only(app, study, analyst):
    _, plain = make_token(app, analyst.id, [study.id])
    client = app.test_client()
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert fetch(client, url(study.code), headers=bearer(plain), method=method).status_code == 405
    assert export_events(app) == []


# --- OpenAPI ----------------------------------------------------------------------------------------------

def test_openapi_document_describes_the_dataset_endpoint(app):
    response = fetch(app.test_client(), "/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    spec = response.json
    try:
        from openapi_spec_validator import validate  # not installed here: the structure is checked below
    except ImportError:
        validate = None
    if validate is not None:
        validate(spec)
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert {"bearer": []} in spec["security"]
    assert [s["url"] for s in spec["servers"]] == ["/api/v1"]

    operation = spec["paths"][DATASET_PATH]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) >= {"code", "name", "format", "site", "timepoint", "from", "to"}
    for name in ("code", "name"):
        assert params[name]["in"] == "path" and params[name]["required"] is True
    for name in ("format", "site", "timepoint", "from", "to", "excel"):
        assert params[name]["in"] == "query" and not params[name].get("required", False)
    assert params["name"]["schema"]["enum"] == list(DATASETS)
    assert params["format"]["schema"]["enum"] == list(FORMATS) and params["format"]["schema"]["default"] == "csv"
    assert params["from"]["schema"]["format"] == "date" and params["to"]["schema"]["format"] == "date"
    assert params["site"]["schema"]["type"] == "array" and params["site"]["explode"] is True
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404"}
    assert set(operation["responses"]["200"]["content"]) == set(FORMATS.values())

    # structure of an OpenAPI 3.1 document: every path parameter declared, every response described,
    # every schema a valid JSON Schema 2020-12, every $ref resolvable
    for path, item in spec["paths"].items():
        assert path.startswith("/")
        for method, op in item.items():
            assert method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path
            for p in op.get("parameters", []):
                assert p["in"] in {"path", "query", "header", "cookie"}
                Draft202012Validator.check_schema(p["schema"])
            for code, resp in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d|default", code) and isinstance(resp["description"], str)
                for media in resp.get("content", {}).values():
                    schema = media["schema"]
                    if "$ref" in schema:
                        name = schema["$ref"].removeprefix("#/components/schemas/")
                        schema = spec["components"]["schemas"][name]
                    Draft202012Validator.check_schema(schema)
    assert "/studies" in spec["paths"]


def test_the_document_gives_the_limits_the_api_enforces(app):
    """Found by tests/security/test_api_schemathesis.py: the document allowed any date and any text, so
    requests it called valid (a control character in a site, `to=8329-08-08`) were refused with a 400."""
    spec = fetch(app.test_client(), "/api/v1/openapi.json").json
    params = {p["name"]: p["schema"] for p in spec["paths"][DATASET_PATH]["get"]["parameters"]}
    valid = lambda schema, value: Draft202012Validator(schema).is_valid(value)  # noqa: E731
    for name in ("from", "to"):
        assert valid(params[name], "1900-01-01") and valid(params[name], "2999-12-31")
        assert not valid(params[name], "1899-12-31") and not valid(params[name], "3000-01-01")
    for schema in (params["code"], params["site"]["items"], params["timepoint"]["items"]):
        assert valid(schema, "BCN") and not valid(schema, "B\x13CN") and not valid(schema, "B\x85CN")
    assert params["excel"]["enum"] == ["0", "1"]
    assert "400" in spec["paths"]["/studies"]["get"]["responses"]
    assert spec["components"]["schemas"]["Problem"]["required"] == ["status", "detail"]
