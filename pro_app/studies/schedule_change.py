"""What a changed schedule does to a live study, worked out before anything changes: which participants'
not-yet-started assessments move (from which dates to which), which keep their dates because they have
started, and which participants a new timepoint is added for. The preview is what the coordinator confirms
and exactly what is then applied; its fingerprint ties the confirmation to it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..assessments.schedule import anchor_dates, anchor_of, window
from ..extensions import db
from ..models import Assessment, Participant, Study, Timepoint
from ..vocabulary import AssessmentStatus, ParticipantStatus

TIMING = ("anchor", "target_day", "window_before", "window_after")


@dataclass(frozen=True)
class Move:
    """One assessment that moves (assessment_id set, old dates set) or is added (assessment_id None)."""

    participant_id: int
    participant: str  # the participant's study code
    site: str
    timepoint: str
    assessment_id: int | None
    old_target: date | None
    new_target: date
    new_start: date
    new_end: date


@dataclass(frozen=True)
class TimepointChange:
    code: str
    label: str
    old: dict[str, Any] | None  # the timing before (None: a new timepoint)
    new: dict[str, Any]
    moved: int = 0
    kept: int = 0  # started or finished: keeps its dates
    added: int = 0


@dataclass
class SchedulePreview:
    timepoints: list[TimepointChange] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    additions: list[Move] = field(default_factory=list)
    definition_digest: str = ""

    @property
    def needs_confirmation(self) -> bool:
        """The schedule of a study with participants changes."""
        return bool(self.timepoints)

    @property
    def participants(self) -> int:
        return len({m.participant_id for m in self.moves} | {m.participant_id for m in self.additions})

    @property
    def kept(self) -> int:
        return sum(t.kept for t in self.timepoints)

    def counts(self) -> dict[str, Any]:
        """The figures the audit record keeps."""
        return {"participants": self.participants, "assessments_moved": len(self.moves),
                "assessments_kept": self.kept, "assessments_added": len(self.additions),
                "by_timepoint": {t.code: {"moved": t.moved, "kept": t.kept, "added": t.added}
                                 for t in self.timepoints}}

    @property
    def fingerprint(self) -> str:
        """Changes when the definition or any date the preview shows changes (a stale confirmation)."""
        rows = [(m.assessment_id, m.participant_id, m.timepoint, m.new_target.isoformat(), m.new_start.isoformat(),
                 m.new_end.isoformat()) for m in self.moves + self.additions]
        text = json.dumps([self.definition_digest, rows], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def _timing(source) -> dict[str, Any]:
    if isinstance(source, dict):
        return {k: source.get(k) for k in TIMING} | {"anchor": anchor_of(SimpleNamespace(anchor=source.get("anchor")))}
    return {k: getattr(source, k) for k in TIMING} | {"anchor": anchor_of(source)}


def _digest(clean: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(clean, sort_keys=True, default=str).encode()).hexdigest()


def _has_participants(study: Study) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(Participant)
                                  .where(Participant.study_id == study.id)))


def _moves(timepoint: Timepoint, new: SimpleNamespace) -> tuple[list[Move], int]:
    """The not-yet-started assessments of a timepoint whose dates change with the new timing, and how many
    of its assessments keep their dates because they have started or finished."""
    assessments = db.session.scalars(
        select(Assessment).where(Assessment.timepoint_id == timepoint.id)
        .options(joinedload(Assessment.participant).joinedload(Participant.site))).all()
    moves, kept = [], 0
    for assessment in assessments:
        if assessment.status != AssessmentStatus.SCHEDULED or assessment.started_at is not None:
            kept += 1
            continue
        anchor = anchor_dates(assessment.participant).get(new.anchor)
        if anchor is None:
            continue
        target, start, end = window(anchor, new)
        if (target, start, end) == (assessment.target_date, assessment.window_start, assessment.window_end):
            continue
        participant = assessment.participant
        moves.append(Move(participant.id, participant.study_code, participant.site.code, timepoint.code,
                          assessment.id, assessment.target_date, target, start, end))
    return moves, kept


def _additions(study: Study, code: str, new: SimpleNamespace) -> list[Move]:
    """A new timepoint joins the schedule of every active participant whose date of its anchor is known."""
    participants = db.session.scalars(
        select(Participant).where(Participant.study_id == study.id, Participant.status == ParticipantStatus.ACTIVE)
        .options(joinedload(Participant.site))).all()
    added = []
    for participant in participants:
        anchor = anchor_dates(participant).get(new.anchor)
        if anchor is None:
            continue
        target, start, end = window(anchor, new)
        added.append(Move(participant.id, participant.study_code, participant.site.code, code, None, None,
                          target, start, end))
    return added


def preview(study: Study, clean: dict[str, Any]) -> SchedulePreview:
    """What applying the validated definition `clean` would do to the study's assessments; changes nothing."""
    result = SchedulePreview(definition_digest=_digest(clean))
    if not _has_participants(study):
        return result
    existing = {t.code: t for t in study.timepoints}
    for entry in clean["timepoints"]:
        new_timing = _timing(entry)
        new = SimpleNamespace(**new_timing)
        timepoint = existing.get(entry["code"])
        if timepoint is None:
            additions = _additions(study, entry["code"], new)
            result.additions.extend(additions)
            result.timepoints.append(TimepointChange(entry["code"], entry.get("label") or entry["code"], None,
                                                     new_timing, added=len(additions)))
            continue
        old_timing = _timing(timepoint)
        if old_timing == new_timing:
            continue
        moves, kept = _moves(timepoint, new)
        result.moves.extend(moves)
        result.timepoints.append(TimepointChange(timepoint.code, entry.get("label") or timepoint.code, old_timing,
                                                 new_timing, moved=len(moves), kept=kept))
    result.moves.sort(key=lambda m: (m.participant, m.timepoint))
    result.additions.sort(key=lambda m: (m.participant, m.timepoint))
    return result


def apply(study: Study, shown: SchedulePreview) -> None:
    """Move and add exactly the assessments the preview listed (the study's timepoints already changed)."""
    timepoints = {t.code: t for t in study.timepoints}
    for move in shown.moves:
        assessment = db.session.get(Assessment, move.assessment_id)
        assessment.target_date, assessment.window_start, assessment.window_end = (move.new_target, move.new_start,
                                                                                  move.new_end)
    for add in shown.additions:
        db.session.add(Assessment(participant_id=add.participant_id, timepoint=timepoints[add.timepoint],
                                  target_date=add.new_target, window_start=add.new_start, window_end=add.new_end))
