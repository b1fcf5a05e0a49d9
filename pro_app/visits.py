"""Visit numbers (the exports' `visit`, SDTM VISITNUM, ADaM AVISITN) and names (VISIT, AVISIT).

A timepoint that happens once is visit `position` (its place in the schedule), as it always was. Each
occurrence k of a repeating timepoint is a visit of its own, 100 × position + k (timepoint 3 repeating:
301, 302 …), so numbers stay whole and unique. An unscheduled assessment is numbered after the scheduled visit
it followed, CDISC style: the first after visit 2 is 2.01, the next 2.02 (0.01 before any visit)."""

from __future__ import annotations

from sqlalchemy import Float, case, cast

#: Occurrences of a repeating timepoint, and unscheduled assessments after one visit, are numbered 1 … 99.
MAX_PER_VISIT = 99


def scheduled_visit(position: int, occurrence: int, repeats: bool) -> int:
    return 100 * position + occurrence if repeats else position


def unscheduled_visit(after: int, occurrence: int) -> float:
    return round(after + occurrence / 100, 2)


def visit_code(number: float) -> str:
    """A visit number as written in VISIT: 2 -> "2", 2.01 -> "2.01"."""
    return f"{number:.2f}" if number != int(number) else str(int(number))


def visit_name(number: float, label: str, occurrence: int, repeats: bool, unscheduled: bool) -> str:
    """VISIT / AVISIT: the timepoint's label in capitals (with the occurrence of a repeating one), or
    "UNSCHEDULED 2.01"."""
    if unscheduled:
        return f"UNSCHEDULED {visit_code(number)}"
    return f"{label.upper()} {occurrence}" if repeats else label.upper()


def visit_number_sql(position, repeat_every, occurrence, visit_after, timepoint_id):
    """`scheduled_visit` / `unscheduled_visit` as a SQL expression (the exports order and select by it)."""
    return case((timepoint_id.is_(None), cast(visit_after, Float) + cast(occurrence, Float) / 100.0),
                (repeat_every.is_not(None), cast(position * 100 + occurrence, Float)),
                else_=cast(position, Float))
