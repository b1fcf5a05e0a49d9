"""What a changed schedule does to a live study, worked out before anything changes: which participants'
not-yet-started assessments move (from which dates to which), which keep their dates because they have
started, and which participants a new timepoint is added for. The preview is what the coordinator confirms
and exactly what is then applied; its fingerprint ties the confirmation to it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select

from ..assessments.schedule import anchor_of, sync
from ..extensions import db
from ..models import Assessment, Participant, Study
from ..vocabulary import ParticipantStatus
from .definition import REPEAT_FIELDS

TIMING = ("anchor", "target_day", "window_before", "window_after", *REPEAT_FIELDS)


@dataclass(frozen=True)
class Move:
    """One assessment that moves (assessment_id set, old dates set), is added (assessment_id None) or, an
    untouched occurrence no longer due, is removed (no new dates)."""

    participant_id: int
    participant: str  # the participant's study code
    site: str
    timepoint: str
    assessment_id: int | None
    old_target: date | None
    new_target: date | None
    new_start: date | None
    new_end: date | None
    occurrence: int = 1


@dataclass(frozen=True)
class TimepointChange:
    code: str
    label: str
    old: dict[str, Any] | None  # the timing before (None: a new timepoint)
    new: dict[str, Any]
    moved: int = 0
    kept: int = 0  # started or finished: keeps its dates
    added: int = 0
    removed: int = 0


@dataclass
class SchedulePreview:
    timepoints: list[TimepointChange] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    additions: list[Move] = field(default_factory=list)
    removals: list[Move] = field(default_factory=list)
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
                "assessments_removed": len(self.removals),
                "by_timepoint": {t.code: {"moved": t.moved, "kept": t.kept, "added": t.added, "removed": t.removed}
                                 for t in self.timepoints}}

    @property
    def fingerprint(self) -> str:
        """Changes when the definition or any date the preview shows changes (a stale confirmation)."""
        rows = [(m.assessment_id, m.participant_id, m.timepoint, m.occurrence, str(m.new_target), str(m.new_start),
                 str(m.new_end)) for m in self.moves + self.additions + self.removals]
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


def reschedule(study: Study, codes: set[str]) -> dict[int, dict]:
    """Bring the assessments of the timepoints `codes` (already changed or added) in line with their timing
    (assessments/schedule.py sync): for a changed timepoint, every participant who has assessments of it (a
    repeating one gains or loses occurrences); for a new one, every active participant. By participant id."""
    timepoints = [t for t in study.timepoints if t.code in codes]
    known = [t for t in timepoints if t.id is not None and db.session.scalar(
        select(func.count()).select_from(Assessment).where(Assessment.timepoint_id == t.id))]
    fresh = [t for t in timepoints if t not in known]
    outcome: dict[int, dict] = {}
    if known:
        with_assessments = select(Participant).where(Participant.id.in_(
            select(Assessment.participant_id).where(Assessment.timepoint_id.in_([t.id for t in known]))))
        for participant in db.session.scalars(with_assessments).all():
            outcome[participant.id] = sync(participant, known, add=participant.status == ParticipantStatus.ACTIVE)
    if fresh:
        active = select(Participant).where(Participant.study_id == study.id,
                                           Participant.status == ParticipantStatus.ACTIVE)
        for participant in db.session.scalars(active).all():
            done = sync(participant, fresh)
            mine = outcome.setdefault(participant.id, {"moved": [], "kept": [], "added": [], "removed": []})
            for key, entries in done.items():
                mine[key] = mine[key] + entries
    return outcome


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _move(participant: Participant, entry: dict, *, keep_id: bool) -> Move:
    old, new = entry.get("old") or {}, entry.get("new") or {}
    return Move(participant.id, participant.study_code, participant.site.code, entry["timepoint"],
                entry["assessment_id"] if keep_id else None, _day(old.get("target_date")),
                _day(new.get("target_date")), _day(new.get("window_start")), _day(new.get("window_end")),
                entry["occurrence"])


def preview(study: Study, clean: dict[str, Any], apply_timepoints: Callable[[Study, list[dict]], None]
            ) -> SchedulePreview:
    """What applying the validated definition `clean` would do to the study's assessments, worked out by
    applying it (`apply_timepoints`, then `reschedule`) inside a savepoint that is rolled back: the preview is
    exactly what confirming does, repeating timepoints included. Changes nothing."""
    result = SchedulePreview(definition_digest=_digest(clean))
    if not _has_participants(study):
        return result
    existing = {t.code: t for t in study.timepoints}
    changes = []
    for entry in clean["timepoints"]:
        timepoint = existing.get(entry["code"])
        old_timing = None if timepoint is None else _timing(timepoint)
        new_timing = _timing(entry)
        if old_timing != new_timing:
            changes.append((entry["code"], entry.get("label") or entry["code"], old_timing, new_timing))
    if not changes:
        return result
    savepoint = db.session.begin_nested()
    try:
        apply_timepoints(study, clean["timepoints"])
        db.session.flush()
        db.session.expire(study)
        outcome = reschedule(study, {code for code, *_ in changes})
        participants = {p.id: p for p in db.session.scalars(
            select(Participant).where(Participant.id.in_(list(outcome)))).all()}
        counts: dict[str, dict[str, int]] = {}
        for participant_id, done in outcome.items():
            participant = participants[participant_id]
            for key in ("moved", "kept", "added", "removed"):
                for entry in done[key]:
                    counts.setdefault(entry["timepoint"], dict.fromkeys(("moved", "kept", "added", "removed"), 0))
                    counts[entry["timepoint"]][key] += 1
                    if key == "moved":
                        result.moves.append(_move(participant, entry, keep_id=True))
                    elif key == "added":
                        result.additions.append(_move(participant, entry, keep_id=False))
                    elif key == "removed":
                        result.removals.append(_move(participant, entry, keep_id=True))
    finally:
        savepoint.rollback()
    db.session.expire_all()
    for code, label, old_timing, new_timing in changes:
        figures = counts.get(code, {})
        result.timepoints.append(TimepointChange(code, label, old_timing, new_timing, **figures))
    order = lambda m: (m.participant, m.timepoint, m.occurrence)  # noqa: E731
    for listed in (result.moves, result.additions, result.removals):
        listed.sort(key=order)
    return result


def apply(study: Study, shown: SchedulePreview) -> None:
    """Move, add and remove exactly the assessments the preview listed (the study's timepoints already
    changed): the same reschedule the preview ran, now kept."""
    if shown.timepoints:
        reschedule(study, {t.code for t in shown.timepoints})
