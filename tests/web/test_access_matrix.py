"""The access matrix: every /staff route (read from the app's url_map, so routes added later are covered)
x every kind of staff user x objects of a granted study, of a site not granted, and of a study not granted
(the id-in-URL case). No route may answer 500, nor show a participant the user is not granted.

Study A has sites BCN and MIA, study B one participant; each participant has a completed baseline with an
alert. The data and the logged-in clients are built once for the module (requests never hold an app
context); each parametrized case only makes requests.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from pro_app import create_app
from pro_app.assessments import answers, completion
from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.kiosk import tablets
from pro_app.models import Alert, Participant, Site, Study, StudyGrant, Timepoint, User
from pro_app.security import passwords
from pro_app.settings import Settings
from pro_app.tokens import services as tokens
from pro_app.users.services import create_user
from tests.support.http import PASSWORD, csrf_token, login
from tests.support.passwords import QUICK_HASHER

ITEM = "PROCTCAE_17A_SCL"
A, B = "NCT-A-0001", "NCT-B-0002"
CODES = {"A_BCN": "PA-BCN-7001", "A_MIA": "PA-MIA-7002", "B": "PB-BCN-7003"}
SKIPPED = {"auth.login", "auth.logout"}
USERS = ["admin", "coord_all", "coord_bcn", "analyst", "nogrant", "disabled"]
NON_ADMIN = ["coord_all", "coord_bcn", "analyst", "nogrant"]
#: The fully granted user of each role: a 403 that they also get on study A is a role refusal, not a leak.
REFERENCE = {"coordinator": "coord_all", "analyst": "analyst", "admin": "admin"}
#: Tables a refused request may still touch (its session, the audit of reads, login throttling).
VOLATILE = {"auth_session", "audit_event", "throttle_event"}


def _staff_rules():
    """(rule, methods, arguments) of every staff route, read from a throw-away app at collection time."""
    tmp = Path(tempfile.mkdtemp())
    app = create_app(Settings.from_env(tmp / "instance", environ={}, database_url=f"sqlite:///{tmp / 'x.db'}",
                                       testing=True, secret_key="collect-" + uuid.uuid4().hex))
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff/") and rule.endpoint not in SKIPPED:
            rules.append((rule.rule, rule.endpoint, frozenset(rule.methods - {"HEAD", "OPTIONS"}),
                          tuple(sorted(rule.arguments))))
    return sorted(rules)


RULES = _staff_rules()
GET_RULES = [r for r in RULES if "GET" in r[2]]
POST_RULES = [r for r in RULES if "POST" in r[2]]

# How to fill each URL argument: variant ("A": study A, site BCN; "MIA": study A, site MIA; "B": study B).
FILL = {
    "code": lambda w, v: B if v == "B" else A,
    "participant_id": lambda w, v: w.objects[v].participant_id,
    "assessment_id": lambda w, v: w.objects[v].assessment_id,
    "alert_id": lambda w, v: w.objects[v].alert_id,
    "user_id": lambda w, v: w.users["coord_b" if v == "B" else "coord_all"].id,
    "token_id": lambda w, v: w.token_b if v == "B" else w.token_a,
    "tablet_id": lambda w, v: w.tablet_id,
    "item_id": lambda w, v: ITEM,
    "dataset": lambda w, v: "wide",
    "fmt": lambda w, v: "csv",
    "name": lambda w, v: "pro_ctcae-composites",
}
OBJECT_ARGS = {"participant_id", "assessment_id", "alert_id"}  # what differs between the A and MIA variants


def url_for_rule(rule: str, world, variant: str) -> str:
    def fill(match):
        name = match.group(1).split(":")[-1]
        return str(FILL[name](world, variant))

    return re.sub(r"<([^>]+)>", fill, rule)


def test_every_staff_route_can_be_filled():
    """A new /staff route with an argument this table cannot fill must be added to FILL."""
    assert len(RULES) > 20
    missing = {(rule, arg) for rule, _e, _m, args in RULES for arg in args if arg not in FILL}
    assert not missing


# --- the world -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory, postgres_database):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "_hasher", QUICK_HASHER,
                   raising=False)
        tmp = tmp_path_factory.mktemp("matrix")
        url = postgres_database or f"sqlite:///{tmp / 'test.sqlite3'}"
        app = create_app(Settings.from_env(tmp / "instance", environ={}, database_url=url, testing=True,
                                           secret_key="test-only-" + uuid.uuid4().hex))
        with app.app_context():
            db.create_all()
            world = _build(app)
        world.app = app
        world.clients = {}
        for name in USERS:
            client = app.test_client()
            assert login(client, world.users[name].email).status_code == 302, name
            world.clients[name] = client
        with app.app_context():  # disabled after logging in: the live session must no longer get through
            db.session.get(User, world.users["disabled"].id).active = False
            db.session.commit()
        yield world
        with app.app_context():
            db.session.remove()
            if db.engine.dialect.name == "postgresql":
                tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                with db.engine.begin() as conn:
                    conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.engine.dispose()


def _study(code: str, sites: list[str]) -> Study:
    study = Study(code=code, title=f"Study {code}", selections={"pro_ctcae": [17, 9, 1, 36, 53]},
                  anchor_event="Day 0")
    db.session.add(study)
    for site in sites:
        db.session.add(Site(study=study, code=site, name=site, timezone="Europe/Madrid"))
    for position, (tp, day) in enumerate([("baseline", 0), ("wk12", 84)], 1):
        db.session.add(Timepoint(study=study, code=tp, label=tp, position=position, target_day=day,
                                 window_before=14, window_after=14,
                                 instruments=["qlq_c30", "qlq_br45", "pro_ctcae"]))
    db.session.flush()
    return study


def _participant(study: Study, site_code: str, code: str) -> SimpleNamespace:
    from datetime import timedelta

    from pro_app.assessments.schedule import create_assessments
    from pro_app.database import utcnow

    site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == site_code))
    participant = Participant(study_id=study.id, site=site, study_code=code, language="en",
                              anchor_date=utcnow().date() + timedelta(days=2))
    db.session.add(participant)
    db.session.flush()
    created = {a.timepoint.code: a for a in create_assessments(participant)}
    baseline = created["baseline"]
    answers.record(baseline, get_instrument("pro_ctcae"), ITEM, value=4, option_code=None, state="answered",
                   language="en", mode="paper", actor="user")
    completion.complete(baseline, actor="user")
    created["wk12"].early = True  # staff confirmed it early: paper entry is open on it before its window
    db.session.flush()
    alert = db.session.scalar(select(Alert).where(Alert.assessment_id == baseline.id).order_by(Alert.id))
    assert alert is not None and alert.status == "open"
    return SimpleNamespace(participant_id=participant.id, assessment_id=baseline.id, alert_id=alert.id,
                           open_assessment_id=created["wk12"].id, code=code)


def _build(app) -> SimpleNamespace:
    study_a, study_b = _study(A, ["BCN", "MIA"]), _study(B, ["BCN"])
    objects = {"A": _participant(study_a, "BCN", CODES["A_BCN"]),
               "MIA": _participant(study_a, "MIA", CODES["A_MIA"]),
               "B": _participant(study_b, "BCN", CODES["B"])}
    made = {"admin": create_user("admin@m.org", "admin", PASSWORD),
            "coord_all": create_user("all@m.org", "coordinator", PASSWORD, [A]),
            "coord_bcn": create_user("bcn@m.org", "coordinator", PASSWORD),
            "analyst": create_user("analyst@m.org", "analyst", PASSWORD, [A]),
            "nogrant": create_user("none@m.org", "coordinator", PASSWORD),
            "disabled": create_user("off@m.org", "coordinator", PASSWORD, [A, B]),
            "coord_b": create_user("b@m.org", "coordinator", PASSWORD, [B])}
    bcn = db.session.scalar(select(Site).where(Site.study_id == study_a.id, Site.code == "BCN"))
    made["coord_bcn"].grants.append(StudyGrant(study_id=study_a.id, site_id=bcn.id))
    token_a, plain_a = tokens.create(made["analyst"], "a", [study_a.id], 30)
    token_b, _plain = tokens.create(made["admin"], "b", [study_b.id], 30)
    tablet, _token = tablets.register(made["admin"].id, "Clinic tablet 1")
    db.session.commit()
    return SimpleNamespace(
        objects=objects, study_ids={A: study_a.id, B: study_b.id}, token_a=token_a.id, token_b=token_b.id,
        plain_a=plain_a, tablet_id=tablet.id,
        users={k: SimpleNamespace(id=u.id, email=u.email, role=u.role) for k, u in made.items()})


def snapshot(world) -> dict:
    """Every row of every table a refused request must leave alone."""
    with world.app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            if table.name not in VOLATILE:
                rows = db.session.execute(select(table)).all()
                state[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
        db.session.rollback()
        return state


def _get(world, user: str, url: str):
    response = world.clients[user].get(url)
    return response.status_code, response.get_data(as_text=True)


def _refused(world, user: str, rule: str, status: int) -> bool:
    """404, or a 403 that the user's role gets on study A too (a role refusal says nothing about the object)."""
    if status == 404:
        return True
    if status != 403:
        return False
    reference = REFERENCE[world.users[user].role]
    return world.clients[reference].get(url_for_rule(rule, world, "A")).status_code == 403


# --- GET: every route x user x variant -----------------------------------------------------------------


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("rule,endpoint,methods,args", GET_RULES, ids=[r[1] for r in GET_RULES])
def test_get_matrix(world, rule, endpoint, methods, args, user):
    variants = ["A", "MIA", "B"] if args else ["A"]
    for variant in variants:
        url = url_for_rule(rule, world, variant)
        status, body = _get(world, user, url)
        where = f"{user} GET {url} ({variant})"
        assert status != 500, where
        if user == "disabled":
            assert status == 302 and "/staff/login" in world.clients[user].get(url).headers["Location"], where
            continue
        if user != "admin" and rule.startswith("/staff/admin/"):
            assert status == 403, where
        if user == "admin":
            continue
        assert CODES["B"] not in body, where
        if variant == "B" and args:
            assert _refused(world, user, rule, status), f"{where}: {status}"
        if user == "coord_bcn":
            assert CODES["A_MIA"] not in body, where
            if variant == "MIA" and OBJECT_ARGS & set(args):
                assert _refused(world, user, rule, status), f"{where}: {status}"
        if user == "nogrant":
            assert not any(code in body for code in CODES.values()), where
            if args:
                assert _refused(world, user, rule, status), f"{where}: {status}"


def test_site_limited_coordinator_sees_only_her_site_where_the_full_grant_sees_both(world):
    """The positive control for the matrix: the same pages list MIA for the whole-study coordinator."""
    pages = ["/staff/", "/staff/today", f"/staff/studies/{A}/participants", f"/staff/studies/{A}/dashboard",
             f"/staff/studies/{A}/alerts", f"/staff/studies/{A}/compliance"]
    pages += [f"/staff/studies/{A}/download/{d}/csv" for d in ("wide", "items", "scores", "compliance")]
    listing = {"/staff/", f"/staff/studies/{A}/participants", f"/staff/studies/{A}/alerts",
               f"/staff/studies/{A}/download/wide/csv", f"/staff/studies/{A}/download/items/csv"}
    for url in pages:
        status, full = _get(world, "coord_all", url)
        assert status == 200, url
        status, limited = _get(world, "coord_bcn", url)
        assert status == 200, url
        assert CODES["A_MIA"] not in limited, url
        assert CODES["B"] not in limited and CODES["B"] not in full, url
        if url in listing:
            assert CODES["A_MIA"] in full and CODES["A_BCN"] in full and CODES["A_BCN"] in limited, url


def test_disabled_user_is_sent_to_login(world):
    response = world.clients["disabled"].get("/staff/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


# --- POST: cannot change another study's objects; no CSRF token, refused -----------------------------------

FORM = {"note": "x", "reason": "other", "choice": "0", "studies": "", "name": "t", "days": "10",
        "role": "admin", "active": "y", "email": "new@m.org", "password": "a-long-enough-password-1",
        "study_code": "NEW-1", "site": "1", "language": "en", "anchor_date": "2030-01-01", "code": "NEW",
        "title": "T", "anchor_event": "E", "definition": "code: X", "confirm": "y", ITEM: "0"}


def _post(world, user: str, url: str, data: dict, with_csrf: bool = True):
    client = world.clients[user]
    data = dict(data)
    if with_csrf:
        data["csrf_token"] = csrf_token(client.get("/staff/login").get_data(as_text=True))
    return client.post(url, data=data)


@pytest.mark.parametrize("user", NON_ADMIN)
@pytest.mark.parametrize("rule,endpoint,methods,args", POST_RULES, ids=[r[1] for r in POST_RULES])
def test_post_cannot_change_what_is_not_granted(world, rule, endpoint, methods, args, user):
    before = snapshot(world)
    data = dict(FORM, studies=str(world.study_ids[B]), grants=str(world.study_ids[B]))
    variants = ["B"] + (["MIA"] if user == "coord_bcn" and OBJECT_ARGS & set(args) else [])
    if not args:
        variants = ["B"] if rule.startswith(("/staff/admin/", "/staff/studies/", "/staff/tokens")) else []
    if rule.startswith("/staff/tablets/") and user != "analyst":
        variants = []  # a tablet is the clinic's, not a study's: every coordinator may unlock or revoke one
    for variant in variants:
        url = url_for_rule(rule, world, variant)
        response = _post(world, user, url, data)
        where = f"{user} POST {url} ({variant})"
        assert response.status_code != 500, where
        if args:  # 403 (role refused before any lookup) or 404 (not found in what the user may see)
            assert response.status_code in (403, 404), f"{where}: {response.status_code}"
        else:  # a form naming study B (token for B, a study or user): refused or invalid
            assert response.status_code in (400, 403, 404), f"{where}: {response.status_code}"
        assert CODES["B"] not in response.get_data(as_text=True), where
        assert snapshot(world) == before, where


CSRF_TARGET = {"assessments.paper": "open"}  # paper entry on a completed assessment is 409 first


@pytest.mark.parametrize("rule,endpoint,methods,args", POST_RULES, ids=[r[1] for r in POST_RULES])
def test_post_without_csrf_token_is_refused_and_changes_nothing(world, rule, endpoint, methods, args):
    """400 (a form page shown again, or the plain error page), or, for the small forms that sit on another
    page, back to that page (303) with a message: tests/web/test_expired_small_forms.py."""
    before = snapshot(world)
    url = url_for_rule(rule, world, "A")
    if CSRF_TARGET.get(endpoint) == "open":
        url = url.replace(str(world.objects["A"].assessment_id), str(world.objects["A"].open_assessment_id))
    data = dict(FORM, studies=str(world.study_ids[A]))
    response = _post(world, "admin", url, data, with_csrf=False)
    small_form = hasattr(world.app.view_functions[endpoint], "back_on_expired_token")
    assert response.status_code == (303 if small_form else 400), f"POST {url}: {response.status_code}"
    assert snapshot(world) == before, url


# --- the API ---------------------------------------------------------------------------------------------


def test_api_token_of_study_a_cannot_read_study_b(world):
    client = world.app.test_client()
    headers = {"Authorization": f"Bearer {world.plain_a}"}
    assert client.get(f"/api/v1/studies/{B}/datasets/wide", headers=headers).status_code == 403
    mine = client.get(f"/api/v1/studies/{A}/datasets/wide", headers=headers)
    assert mine.status_code == 200
    body = mine.get_data(as_text=True)
    assert CODES["A_MIA"] in body and CODES["B"] not in body
