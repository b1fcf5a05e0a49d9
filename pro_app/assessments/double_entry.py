"""Double data entry of paper forms (a study setting): two staff members key the same form, the second blind;
when the keyings agree the assessment is stored, otherwise each discrepancy is listed item by item and decided,
with a reason, before it is. Both keyings are kept (paper_keying) and audited as keyed; so is each decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from .. import audit
from ..clock import utcnow
from ..extensions import db
from ..models import Assessment, PaperKeying
from ..vocabulary import Actor
from . import answers, paper
from .errors import StaffActionError

#: The form's own fields compared between keyings, besides its items.
HEADER_FIELDS = ("completed_on", "mode", "administered_by", "language")


class SameKeyer(StaffActionError):
    """The second keying must be made by someone other than the first keyer."""


class NeedsResolution(StaffActionError):
    """Both keyings are in and disagree: the discrepancies are decided on the resolution page."""


class ResolutionIncomplete(ValueError):
    """A discrepancy has no decision or no reason; `missing` names them."""

    def __init__(self, missing: list[str]):
        super().__init__(", ".join(missing))
        self.missing = missing


@dataclass(frozen=True)
class Discrepancy:
    """One field the two keyings disagree on: an item id or a header field, and each keying's value."""

    field: str
    first: str
    second: str


def required(assessment: Assessment) -> bool:
    return bool(assessment.participant.study.double_entry)


def pending(assessment: Assessment) -> list[PaperKeying]:
    """The keyings not yet used to store the assessment, first keying first."""
    return list(db.session.scalars(select(PaperKeying).where(PaperKeying.assessment_id == assessment.id,
                                                             PaperKeying.used_at.is_(None))
                                   .order_by(PaperKeying.round, PaperKeying.id)))


def _normal(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def _header_of(keying: PaperKeying) -> paper.PaperHeader:
    return paper.PaperHeader(keying.completed_on, keying.mode, keying.administered_by, keying.language)


def _header_values(header: paper.PaperHeader) -> dict[str, str]:
    return {"completed_on": header.completed_on.isoformat(), "mode": header.mode,
            "administered_by": header.administered_by.strip(), "language": header.language}


def discrepancies(assessment: Assessment, first: PaperKeying, second: PaperKeying) -> list[Discrepancy]:
    """Header fields, then items in the order of the form, where the keyings differ."""
    out = []
    one, two = _header_values(_header_of(first)), _header_values(_header_of(second))
    for name in HEADER_FIELDS:
        same = _normal(one[name]) == _normal(two[name]) if name == "administered_by" else one[name] == two[name]
        if not same:
            out.append(Discrepancy(name, one[name], two[name]))
    for part in answers.plan_of(assessment):
        for item_id in part.items:
            a, b = (first.answers.get(item_id) or "").strip(), (second.answers.get(item_id) or "").strip()
            if a != b:
                out.append(Discrepancy(item_id, a, b))
    return out


def _store_keying(assessment: Assessment, round_: int, given: dict[str, str], header: paper.PaperHeader,
                  user_id: int, used: bool) -> PaperKeying:
    keyed = {item_id: (given.get(item_id) or "").strip() for part in answers.plan_of(assessment)
             for item_id in part.items}
    keying = PaperKeying(assessment_id=assessment.id, round=round_, user_id=user_id, keyed_at=utcnow(),
                         completed_on=header.completed_on, mode=header.mode,
                         administered_by=header.administered_by.strip(), language=header.language, answers=keyed,
                         used_at=utcnow() if used else None)
    db.session.add(keying)
    db.session.flush()
    audit.record("paper.keying", "assessment", assessment.id, actor=Actor.USER, user_id=user_id,
                 study_id=assessment.participant.study_id,
                 new={"round": round_, "keying_id": keying.id, **_header_values(header), "answers": keyed})
    return keying


def key(assessment: Assessment, given: dict[str, str], header: paper.PaperHeader, *, user_id: int,
        reasons: dict[str, str] | None = None, lang: str = "en", outside_confirmed: bool = False) -> str:
    """One keying of the form. Returns "first" (stored, waiting for the second keying), "stored" (the second
    agreed: the assessment is complete) or "discrepant" (both kept; decide each discrepancy with resolve).

    Refuses before it changes anything: SameKeyer, NeedsResolution, the paper checks of paper.enter_paper
    (a refused date, OutsideWindow, PaperConflict for recorded answers the paper would change)."""
    paper.check_open(assessment)
    if header.mode not in paper.PAPER_MODES or not header.administered_by.strip():
        raise ValueError("header")
    paper.check_date(assessment, header.completed_on, outside_confirmed=outside_confirmed)
    if paper.validate_choices(assessment, given):
        raise paper.InvalidChoice("paper")
    keyings = pending(assessment)
    if len(keyings) >= 2:
        raise NeedsResolution(assessment.status)
    if not keyings:
        _store_keying(assessment, 1, given, header, user_id, used=False)
        return "first"
    first = keyings[0]
    if first.user_id == user_id:
        raise SameKeyer(assessment.status)
    probe = PaperKeying(completed_on=header.completed_on, mode=header.mode, administered_by=header.administered_by,
                        language=header.language, answers={k: (v or "").strip() for k, v in given.items()})
    if discrepancies(assessment, first, probe):
        _store_keying(assessment, 2, given, header, user_id, used=False)
        return "discrepant"
    paper.enter_paper(assessment, given, header, user_id=user_id, reasons=reasons, lang=lang,
                      outside_confirmed=outside_confirmed, entered_by_id=first.user_id, verified_by_id=user_id)
    _store_keying(assessment, 2, given, header, user_id, used=True)
    first.used_at = utcnow()
    return "stored"


def resolve(assessment: Assessment, decisions: dict[str, str], decision_reasons: dict[str, str], *, user_id: int,
            reasons: dict[str, str] | None = None, lang: str = "en", outside_confirmed: bool = False) -> None:
    """Decide every discrepancy (`decisions`: field -> the value that is on the paper, "" for a blank item;
    each with its reason) and store the assessment from the first keying with the decisions applied.
    ResolutionIncomplete names what has no decision or reason; nothing changes until all are given."""
    paper.check_open(assessment)
    keyings = pending(assessment)
    if len(keyings) < 2:
        raise StaffActionError(assessment.status)
    first, second = keyings[0], keyings[1]
    found = discrepancies(assessment, first, second)
    missing = [d.field for d in found
               if d.field not in decisions or not (decision_reasons.get(d.field) or "").strip()]
    if missing:
        raise ResolutionIncomplete(missing)
    header = _header_values(_header_of(first))
    given = dict(first.answers)
    for d in found:
        chosen = (decisions[d.field] or "").strip()
        if d.field in HEADER_FIELDS:
            if chosen not in (d.first, d.second):
                raise ResolutionIncomplete([d.field])
            header[d.field] = chosen
        else:
            given[d.field] = chosen
    resolved = paper.PaperHeader(date.fromisoformat(header["completed_on"]), header["mode"],
                                 header["administered_by"], header["language"])
    if paper.validate_choices(assessment, given):
        raise paper.InvalidChoice("paper")
    paper.enter_paper(assessment, given, resolved, user_id=user_id, reasons=reasons, lang=lang,
                      outside_confirmed=outside_confirmed, entered_by_id=first.user_id,
                      verified_by_id=second.user_id)
    for d in found:
        audit.record("paper.discrepancy_resolved", "assessment", assessment.id, actor=Actor.USER, user_id=user_id,
                     study_id=assessment.participant.study_id,
                     old={"field": d.field, "first": d.first, "second": d.second,
                          "first_keying": first.id, "second_keying": second.id},
                     new={"field": d.field, "value": (decisions[d.field] or "").strip()},
                     reason=decision_reasons[d.field].strip())
    first.used_at = second.used_at = utcnow()
