"""Which instruments, items and scales a study's data sets hold (the column layout of wide and proae)."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db, library
from ..instruments import Instrument
from ..models import Study
from .chunks import ExportError


def study_by_code(code: str) -> Study:
    study = db.session.scalar(select(Study).where(Study.code == code))
    if study is None:
        raise ExportError(f"no study {code!r}")
    return study


def study_instruments(study: Study) -> list[Instrument]:
    """The instruments the study's timepoints ask, in first-asked order."""
    registry = library.registry
    ids: list[str] = []
    for timepoint in study.timepoints:
        ids.extend(i for i in timepoint.instruments if i not in ids)
    return [registry.get(i) for i in ids]


def study_items(study: Study, instrument: Instrument) -> tuple[str, ...]:
    """The items the study asks of the instrument (a selectable one: the terms the study selected)."""
    if instrument.selectable:
        return instrument.items_for_selection(study.selection_of(instrument))
    return instrument.item_ids


def study_scales(study: Study, instrument: Instrument) -> tuple[str, ...]:
    asked = set(study_items(study, instrument))
    return tuple(s.code for s in instrument.scales if not s.items or asked.intersection(s.items))


def wide_columns(study: Study) -> tuple[list[str], list[str]]:
    instruments = study_instruments(study)
    item_cols = [i for inst in instruments for i in study_items(study, inst)]
    scale_cols = [s for inst in instruments for s in study_scales(study, inst)]
    return item_cols, scale_cols


def proae_instruments(study: Study) -> list[Instrument]:
    """The study's instruments asked by term (their items and composites make the proae data set)."""
    return [i for i in study_instruments(study) if i.selectable]
