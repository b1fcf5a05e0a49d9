"""A hand-built study for the results tests: participants, assessments and stored scores written directly,
so each figure the results compute can be checked against an independent computation of the same values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pro_app.extensions import db
from pro_app.models import Assessment, ItemResponse, Participant, Score, Site, Study, Timepoint

ANCHOR = date(2025, 1, 6)
TIMEPOINTS = [("baseline", 0), ("wk12", 84), ("wk24", 168), ("fu30", 198)]
VISIT = {code: n for n, (code, _) in enumerate(TIMEPOINTS, 1)}
DAY = dict(TIMEPOINTS)


@dataclass
class Person:
    code: str
    arm: str | None = "A"
    site: str = "BCN"
    status: str = "active"
    death_date: date | None = None
    # {timepoint: {scale or item id: value}}; a score None is stored as unscored (insufficient); PRO-CTCAE items
    # (`…_SCL`, `…_IND`) are stored as item responses: None declined, BRANCHED skipped by branching
    scores: dict = field(default_factory=dict)
    # {timepoint: assessment status} for anything but completed
    statuses: dict = field(default_factory=dict)
    # {timepoint: days after the target day the assessment was done}
    late: dict = field(default_factory=dict)


INSTRUMENT_OF = {"PROCTCAE": "pro_ctcae"}
#: An item value: not shown because of branching (stored with state `branched`, no value).
BRANCHED = "branched"


#: The QLQ-BR45's scales (every other score is the QLQ-C30's, unless it is a PRO-CTCAE one).
BR45_SCALES = {"BI", "FU", "SX", "SE", "BS", "SYS", "HU", "ARM", "BR", "ET", "SM", "ES"}


def instrument_of(code: str) -> str:
    if code.startswith("PROCTCAE"):
        return "pro_ctcae"
    return "qlq_br45" if code in BR45_SCALES else "qlq_c30"


def build(people: list[Person], code: str = "RES-1", terms=(17, 5), arms=("A", "B"),
          instruments=("qlq_c30", "pro_ctcae")) -> int:
    study = Study(code=code, title="Results study", selections={"pro_ctcae": list(terms)}, arms=list(arms))
    db.session.add(study)
    sites = {c: Site(study=study, code=c, name=c, timezone="UTC") for c in ("BCN", "MIA")}
    db.session.add_all(sites.values())
    timepoints = {c: Timepoint(study=study, code=c, label=c.upper(), position=VISIT[c], target_day=d,
                               window_before=7, window_after=7, instruments=list(instruments))
                  for c, d in TIMEPOINTS}
    db.session.add_all(timepoints.values())
    db.session.flush()
    for person in people:
        participant = Participant(study_id=study.id, site=sites[person.site], study_code=person.code,
                                  anchor_date=ANCHOR, arm=person.arm, status=person.status,
                                  death_date=person.death_date,
                                  withdrawn_on=ANCHOR + timedelta(days=100) if person.status == "withdrawn" else None)
        db.session.add(participant)
        db.session.flush()
        for tp_code, values in person.scores.items():
            target = ANCHOR + timedelta(days=DAY[tp_code])
            when = datetime(target.year, target.month, target.day, 10, tzinfo=UTC) + timedelta(
                days=person.late.get(tp_code, 0))
            status = person.statuses.get(tp_code, "completed")
            assessment = Assessment(participant_id=participant.id, timepoint_id=timepoints[tp_code].id,
                                    target_date=target, window_start=target - timedelta(days=7),
                                    window_end=target + timedelta(days=7), status=status,
                                    started_at=when if status != "not_done" else None,
                                    completed_at=when if status == "completed" else None,
                                    not_done_reason="too_ill" if status == "not_done" else None,
                                    mode="paper" if status != "not_done" else None)
            db.session.add(assessment)
            db.session.flush()
            for variable, value in values.items():
                if variable.endswith(("_IND", "_SCL")):
                    state = BRANCHED if value == BRANCHED else "answered" if value is not None else "declined"
                    db.session.add(ItemResponse(assessment_id=assessment.id, instrument_id="pro_ctcae",
                                                instrument_version="1", item_id=variable,
                                                value=value if state == "answered" else None, state=state,
                                                language="en", mode="paper"))
                    continue
                db.session.add(Score(assessment_id=assessment.id, instrument_id=instrument_of(variable),
                                     instrument_version="1", scoring_version="1", scale_code=variable,
                                     value=value, status="scored" if value is not None else "insufficient",
                                     n_items=1))
    db.session.commit()
    return study.id
