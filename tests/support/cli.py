"""Helpers shared by the application-level tests: Alembic's side effects on logging, the demo's output."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@contextmanager
def preserved_logging() -> Iterator[None]:
    """Put the logging configuration back as it was: running migrations executes env.py, whose
    `logging.config.fileConfig` replaces the root handlers."""
    manager = logging.root.manager
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers), root.disabled)
    saved = {
        name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        root.setLevel(saved_root[0])
        root.handlers[:] = saved_root[1]
        root.disabled = saved_root[2]
        for name, logger in list(manager.loggerDict.items()):
            if not isinstance(logger, logging.Logger):
                continue
            if name in saved:
                level, handlers, propagate, disabled = saved[name]
                logger.setLevel(level)
                logger.handlers[:] = handlers
                logger.propagate, logger.disabled = propagate, disabled
            else:  # created meanwhile (e.g. configured by fileConfig): back to a neutral logger
                logger.handlers[:] = []
                logger.setLevel(logging.NOTSET)
                logger.propagate, logger.disabled = True, False


@dataclass(frozen=True)
class DemoOutput:
    participants: int
    email: str
    password: str
    patient_code: str
    patient: str


DEMO_LINES = re.compile(
    r"Demo study DEMO: (?P<participants>\d+) participants\..*?"
    r"Coordinator login:\s+(?P<email>\S+@\S+)\s+password:\s+(?P<password>\S+).*?"
    r"Patient code:\s+(?P<code>[A-Z0-9]{4}-[A-Z0-9]{4})\s+\(participant (?P<patient>\S+),",
    re.DOTALL,
)


def parse_demo_output(output: str) -> DemoOutput:
    """What `pro-app demo` / `pro-app serve --demo` print for a new user to try the app."""
    match = DEMO_LINES.search(output)
    assert match, f"no demo login and patient code in the output:\n{output}"
    return DemoOutput(int(match["participants"]), match["email"], match["password"], match["code"],
                      match["patient"])
