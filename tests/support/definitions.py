"""Helpers for tests that write definition files: change a copy of a bundled file, write it, load it,
and check the loader's report (file, place inside it, message)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import pytest
import yaml

from pro_app.instruments.loader import InstrumentError, load_file

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "instruments"
#: The YAML-only test instruments (the symptom diary); the web app's tests use the same folder.
TEST_INSTRUMENTS = ROOT / "tests" / "data" / "instruments"


@cache
def _original(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def definition(path: Path) -> dict:
    """A fresh, freely changeable copy of the definition in `path`."""
    return copy.deepcopy(_original(path))


def write(folder: Path, doc, name: str = "broken.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load_error(tmp_path: Path, doc) -> tuple[InstrumentError, Path]:
    path = write(tmp_path, doc)
    with pytest.raises(InstrumentError) as info:
        load_file(path)
    return info.value, path


def assert_reported(error: InstrumentError, path: Path, where: str, *words: str) -> None:
    """The error holds a problem at `where` whose message contains `words`, and its text has the
    line `FILE: WHERE: MESSAGE` for it."""
    matching = [msg for at, msg in error.problems if at == where and all(w in msg for w in words)]
    assert matching, f"no problem at {where!r} mentioning {words}; got {error.problems}"
    lines = str(error).splitlines()
    shown = where or "(top level)"
    assert any(line == f"{path}: {shown}: {msg}" for line in lines for msg in matching), str(error)


def small_instrument(instrument_id: str, item_id: str, scale_code: str) -> dict:
    """A valid one-item, one-scale instrument."""
    text = {"en": "Text", "es": "Texto"}
    return {
        "id": instrument_id,
        "version": "1",
        "title": text,
        "wording": "paraphrased",
        "licence": "test instrument",
        "instructions": text,
        "recall_periods": {"past_week": text},
        "recall": "past_week",
        "option_sets": {"yes_no": [{"value": 1, "label": text}, {"value": 2, "label": text}]},
        "items": [{"id": item_id, "number": 1, "option_set": "yes_no", "text": text}],
        "scales": [{"code": scale_code, "name": text, "type": "symptom", "method": "eortc_symptom",
                    "items": [item_id]}],
        "examples": [{"name": "yes", "answers": {item_id: 2}, "expected": {scale_code: 100}}],
    }
