"""The data vocabulary is checked by the database itself: a value outside it cannot be stored, whatever code
path writes it (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from pro_app.extensions import db
from pro_app.vocabulary import AssessmentStatus, ItemState, Mode


@pytest.mark.parametrize("table,column,bad", [
    ("assessment", "status", "finished"),
    ("assessment", "mode", "=1+1"),
    ("assessment", "not_done_reason", "@SUM(A1)"),
    ("participant", "status", "gone"),
    ("participant", "language", "fr"),
    ("user", "role", "superuser"),
])
def test_a_value_outside_the_vocabulary_is_refused(app, create_study, create_participant, create_staff, table, column,
                                                    bad):
    study = create_study()
    participant = create_participant(study)
    staff = create_staff()
    ids = {"assessment": participant.assessments["baseline"], "participant": participant.id, "user": staff.id}
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(text(f'UPDATE "{table}" SET {column} = :bad WHERE id = :id'),
                               {"bad": bad, "id": ids[table]})
            db.session.flush()
        db.session.rollback()


def test_the_enums_are_the_stored_strings():
    """StrEnum members compare equal to the text the database holds, so stored rows and code agree."""
    assert AssessmentStatus.COMPLETED == "completed" and ItemState.NOT_REACHED == "not_reached"
    assert {m.value for m in Mode} == {"self", "assisted", "paper"}
