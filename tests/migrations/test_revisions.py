"""Every revision, with data in it: upgraded to head the data is all there (changed only as that migration
says), and downgraded again it is exactly what it was (SecureDrop's migration tests are the model).

The seed is written as it stood at the first revision; `FORWARD` holds what each later migration does to
existing rows, so the same seed can be put into a database at any revision and its expected state at head
follows. Runs on SQLite and, when PRO_APP_TEST_POSTGRES_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from pro_app import MIGRATIONS_DIR
from pro_app.extensions import db

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

#: One small study with everything the tables can hold, as at the first revision.
SEED: dict[str, list[dict]] = {
    "study": [{"id": 1, "code": "NCT0000042", "title": "Kept across migrations", "anchor_event": "Day 0",
               "proctcae_terms": [17, 9], "thresholds": {"PF2": {"below": 83}}, "created_at": T0}],
    "site": [{"id": 1, "study_id": 1, "code": "BCN", "name": "Barcelona", "timezone": "Europe/Madrid"}],
    "timepoint": [{"id": 1, "study_id": 1, "code": "baseline", "label": "Baseline", "position": 1, "target_day": 0,
                   "window_before": 14, "window_after": 3, "instruments": ["qlq_c30", "pro_ctcae"]}],
    "user": [{"id": 1, "email": "coordinator@example.org", "password_hash": "$argon2id$v=19$x", "role": "coordinator",
              "active": True, "created_at": T0}],
    "study_grant": [{"id": 1, "user_id": 1, "study_id": 1, "site_id": None}],
    "participant": [{"id": 1, "study_id": 1, "site_id": 1, "study_code": "P-001", "language": "es",
                     "anchor_date": date(2026, 3, 2), "status": "active", "withdrawn_reason": None,
                     "created_at": T0}],
    "assessment": [{"id": 1, "participant_id": 1, "timepoint_id": 1, "target_date": date(2026, 3, 2),
                    "window_start": date(2026, 2, 16), "window_end": date(2026, 3, 5), "status": "completed",
                    "mode": "paper", "started_at": T0, "completed_at": T0, "not_done_reason": None,
                    "not_done_note": None,
                    "plan": [{"instrument": "pro_ctcae", "version": "1.0-style.1",
                              "items": ["PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL", "PROCTCAE_17C_SCL"]}]}],
    "item_response": [
        {"id": n, "assessment_id": 1, "instrument_id": "pro_ctcae", "instrument_version": "1.0-style.1",
         "item_id": item, "value": value, "option_code": None, "state": "answered", "language": "es",
         "mode": "paper", "answered_at": T0}
        for n, (item, value) in enumerate([("PROCTCAE_17A_SCL", 4), ("PROCTCAE_17B_SCL", 3),
                                           ("PROCTCAE_17C_SCL", 2)], start=1)],
    "score": [{"id": 1, "assessment_id": 1, "instrument_id": "pro_ctcae", "instrument_version": "1.0-style.1",
               "scoring_version": "1.0", "scale_code": "PROCTCAE_17_COMP", "value": 3.0, "status": "scored",
               "n_items": 3, "computed_at": T0}],
    "alert": [{"id": 1, "assessment_id": 1, "study_id": 1, "kind": "proctcae_grade3", "urgency": 1,
               "source": "PROCTCAE_17_COMP", "value": 3.0, "status": "acknowledged", "created_at": T0,
               "acknowledged_by_id": 1, "acknowledged_at": T0, "note": "Called the patient"},
              {"id": 2, "assessment_id": 1, "study_id": 1, "kind": "proctcae_item4", "urgency": 1,
               "source": "PROCTCAE_17A_SCL", "value": 4.0, "status": "open", "created_at": T0,
               "acknowledged_by_id": None, "acknowledged_at": None, "note": None}],
    "audit_event": [{"id": 1, "at": T0, "actor": "user", "user_id": 1, "study_id": 1, "action": "item.change",
                     "entity": "item_response", "entity_id": 1, "old": {"value": 3}, "new": {"value": 4},
                     "reason": "Keyed wrongly"}],
    "auth_session": [{"id": 1, "token_hash": "a" * 64, "kind": "staff", "user_id": 1, "assessment_id": None,
                      "language": "en", "created_at": T0, "last_seen_at": T0, "ended_at": T0,
                      "end_reason": "logout"}],
    "patient_code": [{"id": 1, "code_hash": "b" * 64, "assessment_id": 1, "created_by_id": 1, "created_at": T0,
                      "expires_at": T0, "revoked_at": T0}],
    "throttle_event": [{"id": 1, "key": "login:coordinator@example.org", "at": T0}],
    "api_token": [{"id": 1, "name": "R on my laptop", "token_hash": "c" * 64, "prefix": "proapp_abcde",
                   "user_id": 1, "created_at": T0, "expires_at": T0, "revoked_at": None, "last_used_at": None}],
    "api_token_study": [{"token_id": 1, "study_id": 1}],
    "tablet": [{"id": 1, "name": "Clinic 2, tablet 1", "token_hash": "d" * 64, "created_at": T0, "created_by_id": 1,
                "last_used_at": T0, "revoked_at": None}],
    "alert_notification": [{"id": 1, "alert_id": 2, "user_id": 1, "channel": "urgent", "status": "failed",
                            "attempts": 1, "last_error": "Connection refused", "created_at": T0, "sent_at": None}],
    "paper_keying": [{"id": 1, "assessment_id": 1, "round": 1, "user_id": 1, "keyed_at": T0,
                      "completed_on": date(2026, 3, 1), "mode": "paper", "administered_by": "Nurse J. Ruiz",
                      "language": "es", "answers": {"PROCTCAE_17A_SCL": "4"}, "used_at": None}],
}

Row = dict
Change = Callable[[str, Row], Row]


def _alert_kinds(table: str, row: Row) -> Row:
    renamed = {"proctcae_grade3": "grade_at_least", "proctcae_item4": "item_value"}
    return row | {"kind": renamed.get(row["kind"], row["kind"])} if table == "alert" else row


def _selections(table: str, row: Row) -> Row:
    if table != "study":
        return row
    terms = row["proctcae_terms"]
    return {k: v for k, v in row.items() if k != "proctcae_terms"} | {"selections": {"pro_ctcae": terms} if terms
                                                                       else {}}


def _subject_data(table: str, row: Row) -> Row:
    if table == "study":
        return row | {"arms": []}
    if table == "participant":
        return row | {"arm": None, "consent_date": None, "withdrawn_on": None, "follow_up_continues": False,
                      "death_date": None}
    return row


def _alert_rules(table: str, row: Row) -> Row:
    return row | {"alert_rules": None} if table == "study" else row


def _shown_at(table: str, row: Row) -> Row:
    if table == "auth_session":
        return row | {"shown_item": None, "shown_at": None}
    return row | {"shown_at": None} if table == "item_response" else row  # not recorded before the column


def _shown_time_in_the_cookie(table: str, row: Row) -> Row:
    if table != "auth_session":
        return row
    return {k: v for k, v in row.items() if k not in ("shown_item", "shown_at")}


def _request_keys(table: str, row: Row) -> Row:
    if table == "auth_session":
        return row | {"device": None}  # not known before the column
    return row | {"request_key": None} if table == "item_response" else row  # none was sent before


def _partial_and_early(table: str, row: Row) -> Row:
    return row | {"early": False} if table == "assessment" else row


def _corrections(table: str, row: Row) -> Row:
    return row | {"corrected_at": None, "correction_reason": None} if table == "item_response" else row


def _alert_triage(table: str, row: Row) -> Row:
    if table == "study":
        return row | {"alert_actions": None, "alert_recipients": None, "alert_digest": False}
    return row | {"baseline_value": None, "action": None} if table == "alert" else row


def _notification_retries(table: str, row: Row) -> Row:
    return row | {"next_attempt_at": None, "claimed_until": None} if table == "alert_notification" else row


def _setup_and_anchors(table: str, row: Row) -> Row:
    if table == "study_grant":  # the seed's grant is a coordinator's, for the whole study
        return row | {"manager": row["site_id"] is None}
    if table == "timepoint":
        return row | {"label_es": None, "anchor": "treatment_start"}
    return row | {"enrolled_on": None, "treatment_end": None} if table == "participant" else row


def _paper_entry(table: str, row: Row) -> Row:
    if table == "study":
        return row | {"double_entry": False}
    if table == "assessment":
        return row | {"keyed_at": None, "entered_by_id": None, "verified_by_id": None, "administered_by": None}
    return row


def _repeats_and_unscheduled(table: str, row: Row) -> Row:
    if table == "timepoint":  # existing timepoints happen once
        return row | {"repeat_every": None, "repeat_unit": None, "repeat_until": None, "repeat_count": None}
    if table == "assessment":  # the first (only) occurrence of its timepoint
        return row | {"occurrence": 1, "visit_after": None, "unscheduled_reason": None, "asked": None}
    return row


#: What each migration does to rows that exist (migrations that only add tables, indexes or checks: none).
FORWARD: dict[str, Change] = {"b3d5f0a1c2e4": _alert_kinds, "d2f7a9c3e5b1": _selections,
                              "e4b7c1d9a2f3": _subject_data, "e4a1c7d9b2f3": _alert_rules,
                              "e4b8c1d6f2a7": _shown_at, "e5c2a8d1f4b6": _partial_and_early,
                              "e5d3b9f2a6c8": _corrections, "f2c6a8e1d4b7": _alert_triage,
                              "f3b1d7e9a2c4": _shown_time_in_the_cookie, "a7d3e9f1c5b2": _notification_retries,
                              "a7c3e9f1b5d2": _setup_and_anchors, "a7e3c5b9d1f2": _paper_entry,
                              "f3a7c2e9b5d1": _request_keys, "b8e2d4f6a1c3": _repeats_and_unscheduled}


#: Revision ids from the first to the head.
REVISIONS = [r.revision for r in reversed(list(ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()))]


def seed_at(revision: str) -> dict[str, list[Row]]:
    """The seed as it is in a database at `revision` (every migration up to it applied to the rows)."""
    applied = REVISIONS[: REVISIONS.index(revision) + 1]
    return {table: [_forward(table, row, applied) for row in rows] for table, rows in SEED.items()}


def _forward(table: str, row: Row, revisions: list[str]) -> Row:
    for revision in revisions:
        if revision in FORWARD:
            row = FORWARD[revision](table, row)
    return row


def _plain(value):
    """A value as the comparison sees it: aware datetimes in UTC without zone, JSON as sorted text."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).replace(tzinfo=None)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value.startswith(("{", "[")):
        return json.dumps(json.loads(value), sort_keys=True)
    if isinstance(value, bool):
        return int(value)
    return value


def _tables(connection) -> dict[str, sa.Table]:
    metadata = sa.MetaData()
    metadata.reflect(connection)
    return dict(metadata.tables)


def insert(connection, data: dict[str, list[Row]]) -> None:
    tables = _tables(connection)
    for table in SEED:  # parents first
        if table in tables:
            columns = set(tables[table].c.keys())
            connection.execute(tables[table].insert(), [{k: v for k, v in row.items() if k in columns}
                                                         for row in data[table]])
    if connection.dialect.name == "postgresql":  # the ids were given: move the sequences past them
        for name, table in tables.items():
            if "id" in table.c and name in SEED:
                connection.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), 100)"))


def stored(connection, data: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """What the database holds of the seed's tables and columns, in the seed's shape."""
    tables = _tables(connection)
    found = {}
    for name, rows in data.items():
        if name not in tables:
            continue
        columns = [c for c in rows[0] if c in tables[name].c]
        key = [tables[name].c[c] for c in ("id", "token_id") if c in tables[name].c][:1]
        result = connection.execute(sa.select(*(tables[name].c[c] for c in columns)).order_by(*key)).mappings()
        found[name] = [{c: _plain(r[c]) for c in columns} for r in result]
    return found


def expected(data: dict[str, list[Row]], connection) -> dict[str, list[Row]]:
    tables = _tables(connection)
    return {name: [{c: _plain(v) for c, v in row.items() if c in tables[name].c} for row in rows]
            for name, rows in data.items() if name in tables}


def test_the_seed_covers_every_table(fresh_app):
    with fresh_app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            assert set(_tables(connection)) - {"alembic_version"} == set(SEED)


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_upgrade_from_each_revision_keeps_the_data_and_downgrade_gives_it_back(fresh_app, revision):
    with fresh_app.app_context():
        flask_migrate.upgrade(revision=revision)
        at_revision = seed_at(revision)
        with db.engine.begin() as connection:
            insert(connection, at_revision)
            seeded = set(_tables(connection)) & set(SEED)

        flask_migrate.upgrade()
        at_head = {table: rows for table, rows in seed_at(REVISIONS[-1]).items() if table in seeded}
        with db.engine.connect() as connection:
            assert stored(connection, at_head) == expected(at_head, connection)

        flask_migrate.downgrade(revision=revision)
        with db.engine.connect() as connection:
            assert stored(connection, at_revision) == expected(at_revision, connection)


def test_the_head_has_the_checks_of_the_models(fresh_app):
    """CHECK constraints are not compared by autogenerate: the head must have exactly the models' ones."""
    with fresh_app.app_context():
        flask_migrate.upgrade()
        inspector = sa.inspect(db.engine)
        for table in db.metadata.sorted_tables:
            in_models = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
            in_database = {c["name"] for c in inspector.get_check_constraints(table.name)}
            assert in_database == in_models, table.name
