"""The staff side: login, studies, participants, assessments, alerts, reports, administration.

Each module adds its routes to the one `coordinator` blueprint (blueprint.py) and its menu entry
(navigation.py); importing them here is what registers them.
"""

from . import admin, alerts, assessments, dashboard, navigation, participants, reports, studies, views  # noqa: F401  (registers routes and menu entries)
from .blueprint import bp

__all__ = ["bp"]
