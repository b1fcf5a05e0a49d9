"""The bounds every saved schedule keeps (definition.py validates them; assessments/schedule.py relies on them),
so no study can later put a date past the calendar and make every enrolment fail."""

from ..visits import MAX_PER_VISIT

#: A target day within ten years either side of the anchor, windows and repeat intervals up to ten years.
MAX_DAYS = 3650
#: A repeating timepoint occurs at most this many times (each its own visit number, 100 x position + k).
MAX_REPEATS = MAX_PER_VISIT
