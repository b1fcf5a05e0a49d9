"""The set of instruments in use: the bundled definitions, overridden by a site's licensed files.

The caller names the site folder; this library never reads the environment (the app's settings own
the variable that names the folder, so one place decides configuration)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .loader import InstrumentError, bundled_dir, load_file, read_document
from .model import Instrument


def definition_files(folder: Path) -> list[Path]:
    """The definition files of a folder (`*.yaml` / `*.yml`), in name order."""
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def structure(instrument: Instrument) -> dict[str, tuple]:
    """What a licensed override must keep, by part: everything that decides what is asked, how it scores
    and what it flags (items and their types, answer values and extra options, branching, gates; scales
    and their rules and thresholds; default alert rules; which scales each report chart shows; the SDTM
    category and test codes, which submitted data sets name)."""
    return {
        "items": tuple(
            (i.id, i.number, i.type.name, i.term, i.attribute, i.option_set.values,
             tuple((o.code, o.state) for o in i.option_set.extras), i.skip_if,
             (i.gate.item, i.gate.not_applicable_if) if i.gate else None)
            for i in instrument.items
        ),
        "scales": tuple(
            (s.code, s.type, s.method, s.items, s.reverse_items, s.min_answered, s.scales, s.reverse_scales,
             s.threshold)
            for s in instrument.scales
        ),
        "alert rules": instrument.alert_rules,
        "charts": tuple((c.id, c.types) for c in instrument.charts),
        "CDISC codes": (instrument.cdisc.category if instrument.cdisc else None,
                        tuple(i.cdisc.testcd if i.cdisc else None for i in instrument.items),
                        tuple(s.paramcd for s in instrument.scales)),
    }


def _changed_parts(base: Instrument, other: Instrument) -> list[str]:
    ours, theirs = structure(base), structure(other)
    return [part for part in ours if ours[part] != theirs[part]]


@dataclass(frozen=True)
class Registry:
    instruments: tuple[Instrument, ...]

    def get(self, instrument_id: str) -> Instrument:
        for instrument in self.instruments:
            if instrument.id == instrument_id:
                return instrument
        known = ", ".join(self.ids)
        raise KeyError(f"unknown instrument {instrument_id!r} (known: {known})")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.instruments)

    def __iter__(self):
        return iter(self.instruments)


def _load_folder(folder: Path) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    for path in definition_files(folder):
        instrument = load_file(path)
        if instrument.id in found:
            other = found[instrument.id].source
            raise InstrumentError(str(path), [("id", f"{instrument.id!r} is also defined in {other}")])
        found[instrument.id] = instrument
    return found


def _check_override(base: Instrument | None, instrument: Instrument) -> None:
    changed = _changed_parts(base, instrument) if base is not None else []
    if changed:
        raise InstrumentError(
            instrument.source,
            [("", f"overrides bundled {instrument.id!r} but changes its {', '.join(changed)}; "
                  "a licensed file must keep the bundled structure (only wording, titles and notes "
                  "may differ)")],
        )


def build_registry(bundled: str | os.PathLike, override: str | os.PathLike | None = None) -> Registry:
    """Load every bundled definition, then let files in `override` replace those with the same id.

    An override must keep the bundled structure (see `structure`) so that stored data, exports and flags
    stay comparable; only wording, titles and notes may differ. Item ids and scale codes must be
    unique across all instruments, since they are the column names of the exports.
    """
    instruments = _load_folder(Path(bundled))
    if override is not None:
        override = Path(override)
        if not override.is_dir():
            problem = "the site instruments folder does not exist or is not a folder"
            raise InstrumentError(str(override), [("", problem)])
        for instrument_id, instrument in _load_folder(override).items():
            _check_override(instruments.get(instrument_id), instrument)
            instruments[instrument_id] = instrument
    check_unique_columns(instruments.values())
    return Registry(tuple(instruments.values()))


def check_unique_columns(instruments: Iterable[Instrument]) -> None:
    owner: dict[str, str] = {}
    for instrument in instruments:
        for name in (*instrument.item_ids, *instrument.scale_codes):
            if name in owner and owner[name] != instrument.id:
                raise InstrumentError(instrument.source, [("", f"{name!r} is already used by {owner[name]!r}; "
                                                               "item ids and scale codes must be unique")])
            owner[name] = instrument.id


@lru_cache(maxsize=8)
def _cached_registry(bundled: str, override: str | None, stamp: tuple) -> Registry:
    return build_registry(Path(bundled), Path(override) if override else None)


def _stamp(*folders: str | None) -> tuple:
    """Modification times of the files, so an edited definition is picked up without a restart."""
    out = []
    for folder in folders:
        if folder and Path(folder).is_dir():
            out.extend((str(p), p.stat().st_mtime_ns) for p in definition_files(Path(folder)))
    return tuple(out)


def get_registry(override: str | os.PathLike | None = None) -> Registry:
    """The bundled files plus the site folder `override` (None or "": bundled only), cached until a file
    changes. The caller passes the folder its settings name; nothing here reads the environment."""
    bundled = str(bundled_dir())
    chosen = os.fspath(override) if override is not None else None
    chosen = chosen or None
    return _cached_registry(bundled, chosen, _stamp(bundled, chosen))


def get_instrument(instrument_id: str, override: str | os.PathLike | None = None) -> Instrument:
    return get_registry(override).get(instrument_id)


#: A definition's top-level `id:` line, read without parsing the YAML.
_ID_LINE = re.compile(r"""^id:[ \t]*(["']?)([A-Za-z0-9_.-]+)\1[ \t]*(?:#.*)?$""", re.MULTILINE)


def _declaring(folder: Path, instrument_id: str) -> list[Path] | None:
    """The files of `folder` whose top-level `id:` line names `instrument_id`; None when a file's id cannot be
    read that way (the caller then loads everything, and reports any problem as the registry does)."""
    found = []
    for path in definition_files(folder):
        try:
            match = _ID_LINE.search(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None
        if match is None:
            return None
        if match.group(2) == instrument_id:
            found.append(path)
    return found


def load_instrument(instrument_id: str, override: str | os.PathLike | None = None) -> Instrument:
    """The instrument `get_instrument` gives, loading only the files that define it: the bundled one and, when
    the site folder has one with that id, the site's, checked against the bundled structure. A command that
    needs one instrument (`pro-app score`) does not validate the others (the PRO-CTCAE file alone is most of
    the library's loading time). Unknown ids, repeated ids and unreadable files go through the whole registry,
    so the errors are the same."""
    override = os.fspath(override) if override else None
    if override and not Path(override).is_dir():
        return get_instrument(instrument_id, override)  # the registry's error for a missing site folder
    bundled = _declaring(bundled_dir(), instrument_id)
    site = _declaring(Path(override), instrument_id) if override else []
    if bundled is None or site is None or len(bundled) > 1 or len(site) > 1 or not (bundled or site):
        return get_instrument(instrument_id, override)
    base = load_file(bundled[0]) if bundled else None
    if not site:
        return base
    instrument = load_file(site[0])
    _check_override(base, instrument)
    return instrument


__all__ = ["Registry", "build_registry", "definition_files", "get_instrument", "get_registry", "load_instrument",
           "read_document"]
