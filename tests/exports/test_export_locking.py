"""An export reads for minutes on a large study: patients' answers must keep being saved meanwhile."""

import threading

import pytest
from sqlalchemy import text

from pro_app.exports import chunks as export_chunks
from pro_app.exports.service import prepare, stream
from pro_app.extensions import db


@pytest.mark.parametrize("dataset", ["wide", "compliance"])
def test_a_write_commits_while_an_export_is_half_way(app, create_study, create_participant, monkeypatch, dataset):
    study = create_study(code="LOCK", instruments=["qlq_c30"])
    for n in range(3):
        create_participant(study, code=f"P-{n}")
    monkeypatch.setattr(export_chunks, "CHUNK_PARTICIPANTS", 1)  # several chunks: the export pauses between them
    outcome = {}

    def write_elsewhere():
        with app.app_context():
            engine = db.engine
            with engine.connect() as conn:  # another connection, like another request's
                conn.execute(text("UPDATE study SET title = 'changed during the export' WHERE code = 'LOCK'"))
                conn.commit()
            outcome["written"] = True

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.engine.dispose()
        chunks = stream(prepare("LOCK", dataset, "csv"), actor="system", user_id=None, via="test")
        first = next(chunks)  # the export has started reading
        writer = threading.Thread(target=write_elsewhere)
        writer.start()
        writer.join(timeout=30)
        rest = b"".join(chunks)  # and it finishes
        assert outcome.get("written"), "a write waited for the export (or failed: database is locked)"
        assert first and (first + rest).count(b"\r\n") >= 2
