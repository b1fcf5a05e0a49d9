"""What a staff route looks up, scoped to the logged-in user: an object the user may not see is a 404."""

from __future__ import annotations

from flask import abort, g

from .. import access
from ..models import Assessment, Participant, Study


def study_or_404(code: str) -> Study:
    study = access.get_study(g.user, code)
    if study is None:
        abort(404)
    return study


def participant_or_404(participant_id: int) -> Participant:
    participant = access.get_participant(g.user, participant_id)
    if participant is None:
        abort(404)
    return participant


def assessment_or_404(assessment_id: int) -> Assessment:
    assessment = access.get_assessment(g.user, assessment_id)
    if assessment is None:
        abort(404)
    return assessment
