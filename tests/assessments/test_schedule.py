"""Schedule arithmetic: windows in calendar days from the anchor date, and 'today' as the site's local date
(around midnight and across the 2026 daylight-saving changes in Madrid and New York)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from pro_app.assessments.schedule import local_today, site_today, window
from pro_app.models import Assessment


def timepoint(day: int, before: int = 0, after: int = 0):
    return SimpleNamespace(target_day=day, window_before=before, window_after=after)


def at_site(zone: str):
    return SimpleNamespace(site=SimpleNamespace(timezone=zone))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("anchor", "tp", "expected"), [
    # Target day 0 is the anchor day itself; the window runs from `before` days before to `after` days after.
    (date(2026, 3, 10), timepoint(0, 14, 3), (date(2026, 3, 10), date(2026, 2, 24), date(2026, 3, 13))),
    (date(2026, 3, 10), timepoint(0), (date(2026, 3, 10), date(2026, 3, 10), date(2026, 3, 10))),
    # Across month, leap-day and year ends.
    (date(2028, 2, 20), timepoint(10, 14, 14), (date(2028, 3, 1), date(2028, 2, 16), date(2028, 3, 15))),
    (date(2026, 12, 25), timepoint(7, 3, 7), (date(2027, 1, 1), date(2026, 12, 29), date(2027, 1, 8))),
    # Large days: five years of follow-up.
    (date(2026, 1, 1), timepoint(1826, 30, 30), (date(2031, 1, 1), date(2030, 12, 2), date(2031, 1, 31))),
    # A timepoint before the anchor (a screening visit at day -7).
    (date(2026, 1, 10), timepoint(-7, 0, 7), (date(2026, 1, 3), date(2026, 1, 3), date(2026, 1, 10))),
])
def test_window_in_calendar_days(anchor, tp, expected):
    assert window(anchor, tp) == expected


def test_window_is_calendar_days_even_across_a_dst_change():
    # 2026-03-29 is 23 hours long in Madrid: still one calendar day.
    assert window(date(2026, 3, 28), timepoint(1, 1, 1)) == (date(2026, 3, 29), date(2026, 3, 28), date(2026, 3, 30))
    assert window(date(2026, 10, 24), timepoint(1)) == (date(2026, 10, 25),) * 3


@pytest.mark.parametrize(("zone", "now", "expected"), [
    # Madrid around midnight in winter (UTC+1): 23:30 UTC is already the next day.
    ("Europe/Madrid", utc(2026, 1, 15, 22, 59), date(2026, 1, 15)),
    ("Europe/Madrid", utc(2026, 1, 15, 23, 0), date(2026, 1, 16)),
    # Madrid in summer (UTC+2): the day starts at 22:00 UTC.
    ("Europe/Madrid", utc(2026, 7, 1, 21, 59), date(2026, 7, 1)),
    ("Europe/Madrid", utc(2026, 7, 1, 22, 0), date(2026, 7, 2)),
    # Spring forward, 2026-03-29 01:00 UTC (02:00 -> 03:00 local).
    ("Europe/Madrid", utc(2026, 3, 28, 22, 59), date(2026, 3, 28)),
    ("Europe/Madrid", utc(2026, 3, 28, 23, 0), date(2026, 3, 29)),
    ("Europe/Madrid", utc(2026, 3, 29, 1, 30), date(2026, 3, 29)),  # 03:30 CEST
    ("Europe/Madrid", utc(2026, 3, 29, 21, 59), date(2026, 3, 29)),  # 23:59 CEST
    ("Europe/Madrid", utc(2026, 3, 29, 22, 0), date(2026, 3, 30)),
    # Fall back, 2026-10-25 01:00 UTC (03:00 -> 02:00 local): the day ends at 23:00 UTC.
    ("Europe/Madrid", utc(2026, 10, 24, 21, 59), date(2026, 10, 24)),
    ("Europe/Madrid", utc(2026, 10, 24, 22, 0), date(2026, 10, 25)),
    ("Europe/Madrid", utc(2026, 10, 25, 22, 59), date(2026, 10, 25)),
    ("Europe/Madrid", utc(2026, 10, 25, 23, 0), date(2026, 10, 26)),
    # New York in winter (UTC-5): 04:59 UTC is still the previous day.
    ("America/New_York", utc(2026, 1, 16, 4, 59), date(2026, 1, 15)),
    ("America/New_York", utc(2026, 1, 16, 5, 0), date(2026, 1, 16)),
    # Spring forward, 2026-03-08 07:00 UTC (02:00 EST -> 03:00 EDT).
    ("America/New_York", utc(2026, 3, 8, 4, 59), date(2026, 3, 7)),
    ("America/New_York", utc(2026, 3, 8, 5, 0), date(2026, 3, 8)),
    ("America/New_York", utc(2026, 3, 8, 7, 30), date(2026, 3, 8)),  # 03:30 EDT
    ("America/New_York", utc(2026, 3, 9, 3, 59), date(2026, 3, 8)),  # 23:59 EDT
    ("America/New_York", utc(2026, 3, 9, 4, 0), date(2026, 3, 9)),
    # Fall back, 2026-11-01 06:00 UTC (02:00 EDT -> 01:00 EST): that local day lasts until 05:00 UTC next day.
    ("America/New_York", utc(2026, 11, 1, 3, 59), date(2026, 10, 31)),
    ("America/New_York", utc(2026, 11, 1, 4, 0), date(2026, 11, 1)),
    ("America/New_York", utc(2026, 11, 2, 4, 59), date(2026, 11, 1)),
    ("America/New_York", utc(2026, 11, 2, 5, 0), date(2026, 11, 2)),
])
def test_site_today_is_the_sites_local_date(zone, now, expected):
    assert site_today(at_site(zone), now) == expected
    assert local_today(zone, now) == expected


def test_the_same_instant_is_a_different_day_at_two_sites():
    now = utc(2026, 3, 29, 1, 30)  # just after Madrid's spring change
    assert site_today(at_site("Europe/Madrid"), now) == date(2026, 3, 29)
    assert site_today(at_site("America/New_York"), now) == date(2026, 3, 28)
    assert site_today(at_site("UTC"), now) == date(2026, 3, 29)


def test_window_boundaries_use_the_sites_local_date():
    """A window that ends on 2026-03-08 is still open at 23:30 in New York (04:30 UTC on the 9th) and closed
    half an hour later; in Madrid the same instant is already the 9th."""
    start, end = date(2026, 3, 1), date(2026, 3, 8)
    assessment = Assessment(status="scheduled", window_start=start, window_end=end)
    late_evening_ny = utc(2026, 3, 9, 3, 30)  # 23:30 EDT on the 8th (after the spring change)
    after_midnight_ny = utc(2026, 3, 9, 4, 0)
    assert assessment.effective_status(site_today(at_site("America/New_York"), late_evening_ny)) == "open"
    assert assessment.effective_status(site_today(at_site("America/New_York"), after_midnight_ny)) == "missed"
    assert assessment.effective_status(site_today(at_site("Europe/Madrid"), late_evening_ny)) == "missed"
    # The first day of the window opens at local midnight: 2026-02-28 23:00 UTC in Madrid (winter time).
    assert assessment.effective_status(site_today(at_site("Europe/Madrid"), utc(2026, 2, 28, 22, 59))) == "scheduled"
    assert assessment.effective_status(site_today(at_site("Europe/Madrid"), utc(2026, 2, 28, 23, 0))) == "open"
