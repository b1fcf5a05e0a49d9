"""Reads an instrument definition file, validates its shape (JSON Schema) and meaning, builds the model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from .model import (
    Condition,
    Example,
    Gate,
    Instrument,
    Item,
    Option,
    OptionSet,
    Scale,
    Term,
    TermSet,
    Text,
)

try:  # the C loader is several times faster on the large PRO-CTCAE file
    _YamlLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _YamlLoader = yaml.SafeLoader


class InstrumentError(ValueError):
    """A definition file is invalid. `problems` holds (path inside the file, message) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {path or '(top level)'}: {msg}" for path, msg in problems))


def bundled_dir() -> Path:
    """The folder of the definitions shipped with pro-app (installed copy, else the source tree)."""
    here = Path(__file__).resolve().parent
    installed = here.parent / "bundled_instruments"
    return installed if installed.is_dir() else here.parents[1] / "instruments"


@lru_cache(maxsize=1)
def _schema_validator() -> Draft202012Validator:
    schema = json.loads((bundled_dir() / "schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def _path(parts: Iterator[Any] | list[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def read_document(path: Path) -> dict[str, Any]:
    """Parse the YAML of one file; raise InstrumentError when it is not a YAML mapping."""
    source = str(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise InstrumentError(source, [("", f"cannot read the file: {exc}")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InstrumentError(source, [(where, f"not valid YAML: {problem}")]) from exc
    if not isinstance(doc, dict):
        raise InstrumentError(source, [("", "the file must hold a mapping (id, version, items, …)")])
    return doc


def load_file(path: str | Path) -> Instrument:
    """Load, validate and build one instrument; raise InstrumentError listing every problem found."""
    path = Path(path)
    return build(read_document(path), str(path))


def build(doc: dict[str, Any], source: str = "<definition>") -> Instrument:
    errors = sorted(_schema_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise InstrumentError(source, [(_path(e.absolute_path), _schema_message(e)) for e in errors])
    problems = _Checker(doc).run()
    if problems:
        raise InstrumentError(source, problems)
    return _to_model(doc, source)


def _schema_message(error: Any) -> str:
    if error.validator == "oneOf" and error.absolute_path and "label" in (error.instance or {}):
        return "an option needs either an integer `value`, or a `code` and a `state` (not both)"
    if error.validator == "additionalProperties":
        return f"{error.message} (see instruments/README.md for the allowed keys)"
    return error.message


class _Checker:
    """Meaning checks the schema cannot express. Collects every problem, with its path."""

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self.problems: list[tuple[str, str]] = []
        self.position = {item["id"]: n for n, item in enumerate(doc["items"])}
        self.values: dict[str, set[int]] = {}

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def run(self) -> list[tuple[str, str]]:
        self.check_recall_and_option_sets()
        self.check_items()
        self.check_terms()
        self.check_scales()
        self.check_examples()
        return self.problems

    def check_recall_and_option_sets(self) -> None:
        if self.doc["recall"] not in self.doc["recall_periods"]:
            self.fail("recall", f"unknown recall period {self.doc['recall']!r}")
        for set_id, options in self.doc["option_sets"].items():
            values = [o["value"] for o in options if "value" in o]
            codes = [o["code"] for o in options if "code" in o]
            where = f"option_sets.{set_id}"
            if len(values) < 2:
                self.fail(where, "needs at least two options with a value")
            elif sorted(values) != list(range(min(values), min(values) + len(values))):
                self.fail(where, f"values must be unique and consecutive, got {values}")
            if len(set(codes)) != len(codes):
                self.fail(where, f"option codes must be unique, got {codes}")

    def check_items(self) -> None:
        seen: set[str] = set()
        for n, item in enumerate(self.doc["items"]):
            where = f"items[{n}]"
            if item["id"] in seen:
                self.fail(f"{where}.id", f"duplicate item id {item['id']!r}")
            seen.add(item["id"])
            options = self.doc["option_sets"].get(item["option_set"])
            if options is None:
                self.fail(f"{where}.option_set", f"unknown option set {item['option_set']!r}")
            else:
                self.values[item["id"]] = {o["value"] for o in options if "value" in o}
            if "recall" in item and item["recall"] not in self.doc["recall_periods"]:
                self.fail(f"{where}.recall", f"unknown recall period {item['recall']!r}")
            if "gate" in item:
                gate = item["gate"]
                self.check_reference(f"{where}.gate", n, gate["item"], gate["not_applicable_if"])
            for k, cond in enumerate(item.get("skip_if", ())):
                self.check_reference(f"{where}.skip_if[{k}]", n, cond["item"], cond["values"])

    def check_reference(self, where: str, position: int, target: str, values: list[int]) -> None:
        """Branching and gates may only look back: the condition's item must come earlier."""
        if target not in self.position:
            self.fail(f"{where}.item", f"unknown item {target!r}")
        elif self.position[target] >= position:
            self.fail(f"{where}.item", f"{target!r} does not come before this item (branching must point forward)")
        elif target in self.values and not set(values) <= self.values[target]:
            bad = sorted(set(values) - self.values[target])
            self.fail(where, f"{bad} are not answers of {target!r} (allowed {sorted(self.values[target])})")

    def check_terms(self) -> None:
        terms = self.doc.get("terms", [])
        numbers = [t["number"] for t in terms]
        for k, number in enumerate(numbers):
            if numbers.index(number) != k:
                self.fail(f"terms[{k}].number", f"duplicate term number {number}")
        known = set(numbers)
        last_term: dict[int, int] = {}
        for n, item in enumerate(self.doc["items"]):
            term = item.get("term")
            if term is None:
                continue
            if term not in known:
                self.fail(f"items[{n}].term", f"unknown term {term}")
            if term in last_term and last_term[term] != n - 1:
                self.fail(f"items[{n}].term", f"the items of term {term} must stand together")
            last_term[term] = n
        for set_id, term_set in self.doc.get("term_sets", {}).items():
            for k, number in enumerate(term_set["terms"]):
                if number not in known:
                    self.fail(f"term_sets.{set_id}.terms[{k}]", f"unknown term {number}")
        defaults = [s for s, ts in self.doc.get("term_sets", {}).items() if ts.get("default")]
        if len(defaults) > 1:
            self.fail("term_sets", f"at most one default term set, got {defaults}")

    def check_scales(self) -> None:
        codes: list[str] = []
        items = {i["id"]: i for i in self.doc["items"]}
        for n, scale in enumerate(self.doc["scales"]):
            where = f"scales[{n}]"
            if scale["code"] in codes:
                self.fail(f"{where}.code", f"duplicate scale code {scale['code']!r}")
            if scale["code"] in items:
                self.fail(f"{where}.code", f"{scale['code']!r} is also an item id (both name an export column)")
            members = scale.get("items", [])
            for k, item_id in enumerate(members):
                if item_id not in items:
                    self.fail(f"{where}.items[{k}]", f"unknown item {item_id!r}")
            for k, item_id in enumerate(scale.get("reverse_items", [])):
                if item_id not in members:
                    self.fail(f"{where}.reverse_items[{k}]", f"{item_id!r} is not an item of this scale")
            method = scale["method"]
            if method.startswith("eortc_"):
                self.check_eortc_scale(where, scale, items)
            elif method == "mean_of_scales":
                self.check_summary_scale(where, scale, codes)
            else:
                self.check_composite_scale(where, scale, items)
            codes.append(scale["code"])

    def check_eortc_scale(self, where: str, scale: dict[str, Any], items: dict[str, Any]) -> None:
        members = [i for i in scale.get("items", []) if i in items]
        if not scale.get("items"):
            self.fail(f"{where}.items", "an EORTC scale needs at least one item")
            return
        ranges = {i: max(self.values[i]) - min(self.values[i]) for i in members if self.values.get(i)}
        if len(set(ranges.values())) > 1:
            self.fail(f"{where}.items", f"items of one scale must share a response range, got {ranges}")
        if scale.get("min_answered", 0) > len(scale["items"]):
            self.fail(f"{where}.min_answered", "is more than the number of items")
        if scale["type"] in ("summary", "composite"):
            self.fail(f"{where}.type", f"method {scale['method']} scores a functional, symptom or global scale")

    def check_summary_scale(self, where: str, scale: dict[str, Any], earlier: list[str]) -> None:
        parts = scale.get("scales", [])
        if not parts:
            self.fail(f"{where}.scales", "mean_of_scales needs the scales to average")
        for k, code in enumerate(parts):
            if code not in earlier:
                self.fail(f"{where}.scales[{k}]", f"{code!r} is not a scale defined before this one")
        for k, code in enumerate(scale.get("reverse_scales", [])):
            if code not in parts:
                self.fail(f"{where}.reverse_scales[{k}]", f"{code!r} is not one of this scale's scales")
        if scale.get("items"):
            self.fail(f"{where}.items", "mean_of_scales takes scales, not items")

    def check_composite_scale(self, where: str, scale: dict[str, Any], items: dict[str, Any]) -> None:
        members = [items[i] for i in scale.get("items", []) if i in items]
        terms = {m.get("term") for m in members}
        if not members or None in terms or len(terms) != 1:
            self.fail(f"{where}.items", "a composite takes the items of exactly one term")
            return
        (term,) = terms
        whole = [i["id"] for i in self.doc["items"] if i.get("term") == term]
        if [m["id"] for m in members] != whole:
            self.fail(f"{where}.items", f"a composite takes all items of term {term} in order: {whole}")
        attributes = [m["attribute"] for m in members]
        if "presence" in attributes:
            self.fail(f"{where}.items", "presence (yes/no) terms have no composite grade")
        order = ["frequency", "severity", "interference"]
        if attributes == ["amount"]:
            return
        if "amount" in attributes or attributes != sorted(attributes, key=order.index):
            self.fail(f"{where}.items", f"attributes must come frequency, severity, interference; got {attributes}")

    def check_examples(self) -> None:
        items = {i["id"] for i in self.doc["items"]}
        codes = {s["code"] for s in self.doc["scales"]}
        for n, example in enumerate(self.doc["examples"]):
            where = f"examples[{n}]"
            for item_id, value in example["answers"].items():
                if item_id not in items:
                    self.fail(f"{where}.answers.{item_id}", "unknown item")
                elif value not in self.values.get(item_id, set()):
                    self.fail(f"{where}.answers.{item_id}", f"{value} is not an allowed answer")
            for key in ("expected", "status"):
                for code in example.get(key, {}):
                    if code not in codes:
                        self.fail(f"{where}.{key}.{code}", "unknown scale")


def _text(raw: dict[str, str]) -> Text:
    return Text(en=raw["en"], es=raw["es"])


def _to_model(doc: dict[str, Any], source: str) -> Instrument:
    option_sets = {
        set_id: OptionSet(
            id=set_id,
            options=tuple(
                Option(label=_text(o["label"]), value=o.get("value"), code=o.get("code"),
                       state=o.get("state", "answered"))
                for o in options
            ),
        )
        for set_id, options in doc["option_sets"].items()
    }
    items = tuple(
        Item(
            id=raw["id"],
            number=raw["number"],
            text=_text(raw["text"]),
            option_set=option_sets[raw["option_set"]],
            recall=raw.get("recall", doc["recall"]),
            gate=Gate(raw["gate"]["item"], tuple(raw["gate"]["not_applicable_if"]),
                      _text(raw["gate"]["instruction"])) if "gate" in raw else None,
            skip_if=tuple(Condition(c["item"], tuple(c["values"])) for c in raw.get("skip_if", ())),
            term=raw.get("term"),
            attribute=raw.get("attribute"),
        )
        for raw in doc["items"]
    )
    scales = tuple(
        Scale(
            code=s["code"],
            name=_text(s["name"]),
            type=s["type"],
            method=s["method"],
            items=tuple(s.get("items", ())),
            reverse_items=tuple(s.get("reverse_items", ())),
            min_answered=s.get("min_answered"),
            scales=tuple(s.get("scales", ())),
            reverse_scales=tuple(s.get("reverse_scales", ())),
        )
        for s in doc["scales"]
    )
    return Instrument(
        id=doc["id"],
        version=doc["version"],
        title=_text(doc["title"]),
        wording=doc["wording"],
        licence=doc["licence"],
        instructions=_text(doc["instructions"]),
        recall_periods=MappingProxyType({k: _text(v) for k, v in doc["recall_periods"].items()}),
        recall=doc["recall"],
        option_sets=MappingProxyType(option_sets),
        items=items,
        scales=scales,
        terms=tuple(Term(t["number"], _text(t["name"]), t["body_system"]) for t in doc.get("terms", ())),
        term_sets=tuple(
            TermSet(set_id, _text(ts["name"]), tuple(ts["terms"]), ts.get("default", False))
            for set_id, ts in doc.get("term_sets", {}).items()
        ),
        examples=tuple(
            Example(e["name"], MappingProxyType(dict(e["answers"])), MappingProxyType(dict(e["expected"])),
                    MappingProxyType(dict(e.get("status", {}))))
            for e in doc["examples"]
        ),
        source=source,
    )

