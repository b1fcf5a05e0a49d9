"""The participant-code search every staff list offers (participants, assessments, alerts, audit trail)."""

from __future__ import annotations

from .models import Participant


def code_contains(search: str):
    """Participant codes containing `search` as typed (a `%` or `_` is matched as itself), any case."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Participant.study_code.ilike(f"%{escaped}%", escape="\\")
