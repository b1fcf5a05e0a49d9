"""pro-app: electronic patient-reported outcomes for oncology trials.

The application factory lives in `app.py`. It is imported on first use, not here, so that importing a part of
the package that needs no web application (the instrument library, `pro-app score`, `pro-app --help`) does
not pay for importing Flask and every feature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import BLUEPRINTS, MIGRATIONS_DIR, create_app

__all__ = ["BLUEPRINTS", "MIGRATIONS_DIR", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
