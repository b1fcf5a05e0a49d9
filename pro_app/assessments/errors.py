"""What a staff action on an assessment can refuse (the views answer 409)."""

from __future__ import annotations


class StaffActionError(Exception):
    """The action does not fit the assessment's state (the view answers 409)."""


class BeforeWindow(StaffActionError):
    """The window has not opened and no early assessment was confirmed."""
