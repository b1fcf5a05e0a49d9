"""Writing to the append-only audit trail (models/audit.py holds the table)."""

from __future__ import annotations

from typing import Any

from .extensions import db
from .models import AuditEvent


def record(
    action: str,
    entity: str,
    entity_id: int | None,
    *,
    actor: str,
    user_id: int | None = None,
    study_id: int | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Add an audit record to the current transaction (it commits with the change it describes)."""
    event = AuditEvent(actor=actor, user_id=user_id, study_id=study_id, action=action, entity=entity,
                       entity_id=entity_id, old=old, new=new, reason=reason)
    db.session.add(event)
    return event
