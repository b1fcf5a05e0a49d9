"""Reads an instrument definition file, validates its shape (JSON Schema) and meaning, builds the model."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from .. import safe_yaml
from .item_types import ITEM_TYPES, build_option_set, item_type_of
from .methods import SCORING_METHODS, Definitions, value_range
from .model import (
    ALERT_RULE_KINDS,
    HIGHER_IS_BETTER_TYPES,
    AlertRule,
    CdiscInfo,
    CdiscTest,
    ChartGroup,
    Condition,
    Example,
    Gate,
    Instrument,
    Item,
    Scale,
    Term,
    TermSet,
    Text,
    Threshold,
)

#: An instrument file is the operator's own data (installed, not uploaded), larger than a study definition
#: (PRO-CTCAE: about 73 kB); files written by yaml.safe_dump may hold aliases.
INSTRUMENT_LIMITS = safe_yaml.Limits(chars=5_000_000, aliases=True)


#: An ADaM parameter code (PARAMCD): at most 8 characters, upper-case letters and digits, a letter first.
_PARAMCD = re.compile(r"[A-Z][A-Z0-9]{0,7}")


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
        doc = safe_yaml.load(path.read_text(encoding="utf-8"), INSTRUMENT_LIMITS)
    except (OSError, UnicodeDecodeError) as exc:
        raise InstrumentError(source, [("", f"cannot read the file: {exc}")]) from exc
    except safe_yaml.YamlRefused as exc:
        raise InstrumentError(source, [(f"line {exc.line}", f"not valid YAML: {exc.problem}")]) from exc
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
        raise InstrumentError(source, [_schema_problem(e) for e in errors])
    problems = _Checker(doc).run()
    if problems:
        raise InstrumentError(source, problems)
    instrument = _to_model(doc, source)
    problems = _check_model(instrument)
    if problems:
        raise InstrumentError(source, problems)
    return instrument


def _schema_problem(error: Any) -> tuple[str, str]:
    """(path, message) for a schema error, worded for someone editing the YAML file."""
    path = _path(error.absolute_path)
    if error.validator == "not" and isinstance(error.instance, dict):  # a key the item's type does not take
        keys = [k for alt in error.validator_value.get("anyOf", [error.validator_value]) for k in alt["required"]]
        key = next(k for k in keys if k in error.instance)
        item_type = error.instance.get("type", "single_choice")
        return f"{path}.{key}", (f"`{key}` does not belong on a {item_type} item (single_choice items take "
                                 "`option_set`; numeric_rating items take `min`, `max` and `anchors`)")
    if error.validator == "oneOf" and error.absolute_path and "label" in (error.instance or {}):
        return path, "an option needs either an integer `value`, or a `code` and a `state` (not both)"
    if error.validator == "additionalProperties":
        return path, f"{error.message} (see instruments/README.md for the allowed keys)"
    return path, error.message


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
        self.check_alert_rules()
        self.check_charts()
        self.check_examples()
        self.check_cdisc()
        return self.problems

    def check_recall_and_option_sets(self) -> None:
        if self.doc["recall"] not in self.doc["recall_periods"]:
            self.fail("recall", f"unknown recall period {self.doc['recall']!r}")
        for set_id, options in self.doc.get("option_sets", {}).items():
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
            item_type = item_type_of(item)
            if item_type is None:
                known = ", ".join(sorted(ITEM_TYPES))
                self.fail(f"{where}.type", f"unknown item type {item['type']!r} (known: {known})")
            else:
                problems = item_type.check(item, self.doc, where)
                self.problems.extend(problems)
                if not problems:
                    self.values[item["id"]] = item_type.values(item, self.doc)
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
        earlier: dict[str, dict[str, Any]] = {}
        items = {i["id"]: i for i in self.doc["items"]}
        for n, scale in enumerate(self.doc["scales"]):
            where = f"scales[{n}]"
            if scale["code"] in earlier:
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
            self.check_threshold(where, scale)
            method = SCORING_METHODS.get(scale["method"])
            if method is None:
                known = ", ".join(sorted(SCORING_METHODS))
                self.fail(f"{where}.method", f"unknown scoring method {scale['method']!r} (known: {known})")
            else:
                if scale["type"] not in method.scale_types:
                    self.fail(f"{where}.type", f"method {method.name} scores a {_either(method.scale_types)} scale")
                self.problems.extend(method.check(scale, where, Definitions(self.doc, items, self.values, earlier)))
            earlier.setdefault(scale["code"], scale)

    def check_threshold(self, where: str, scale: dict[str, Any]) -> None:
        """Functioning scales flag below their threshold, symptom scales above it (SCORING.md §3); the
        value's range is checked once the scale is built (_check_model)."""
        if "threshold" not in scale:
            return
        (direction,) = scale["threshold"]
        expected = "below" if scale["type"] in HIGHER_IS_BETTER_TYPES else "above"
        if direction != expected:
            self.fail(f"{where}.threshold", f"a {scale['type']} scale is flagged {expected} its threshold, "
                                            f"not {direction}")

    def check_alert_rules(self) -> None:
        scale_types = {s["type"] for s in self.doc["scales"]}
        values = set().union(*self.values.values()) if self.values else set()
        for n, rule in enumerate(self.doc.get("alert_rules", [])):
            where = f"alert_rules[{n}]"
            kind = rule["kind"]
            if kind not in ALERT_RULE_KINDS:
                self.fail(f"{where}.kind", f"unknown alert rule kind {kind!r} (known: {', '.join(ALERT_RULE_KINDS)})")
                continue
            if (kind == "threshold") == ("value" in rule):
                needs = "takes no `value` (each scale's own threshold is used)" if kind == "threshold" else \
                    "needs a `value`"
                self.fail(where, f"a {kind} rule {needs}")
            if kind == "grade_at_least" and "composite" not in scale_types:
                self.fail(f"{where}.kind", "grade_at_least needs a composite scale, and this instrument has none")
            if kind == "item_value" and "value" in rule and rule["value"] not in values:
                self.fail(f"{where}.value", f"{rule['value']} is not an answer value of any item")
            if kind == "threshold" and not any("threshold" in s for s in self.doc["scales"]):
                self.fail(f"{where}.kind", "a threshold rule needs a scale with a `threshold`, and none has one")

    def check_charts(self) -> None:
        scale_types = {s["type"] for s in self.doc["scales"]}
        ids: list[str] = []
        for n, chart in enumerate(self.doc.get("charts", [])):
            where = f"charts[{n}]"
            if chart["id"] in ids:
                self.fail(f"{where}.id", f"duplicate chart id {chart['id']!r}")
            ids.append(chart["id"])
            for k, scale_type in enumerate(chart["types"]):
                if scale_type not in scale_types:
                    self.fail(f"{where}.types[{k}]", f"no scale of type {scale_type!r} to show")

    def check_examples(self) -> None:
        items = {i["id"] for i in self.doc["items"]}
        codes = {s["code"] for s in self.doc["scales"]}
        for n, example in enumerate(self.doc["examples"]):
            where = f"examples[{n}]"
            for item_id, value in example["answers"].items():
                if item_id not in items:
                    self.fail(f"{where}.answers.{item_id}", "unknown item")
                elif item_id in self.values and value not in self.values[item_id]:  # else reported already
                    self.fail(f"{where}.answers.{item_id}", f"{value} is not an allowed answer")
            for key in ("expected", "status"):
                for code in example.get(key, {}):
                    if code not in codes:
                        self.fail(f"{where}.{key}.{code}", "unknown scale")


    def check_cdisc(self) -> None:
        """The SDTM block: on the instrument and on every item, or nowhere; test codes unique (QSALL is the
        code of a not-done record); an interval for every recall period; a short name, not the question."""
        top = self.doc.get("cdisc")
        if top is None:
            for part in ("items", "scales"):
                for n, entry in enumerate(self.doc[part]):
                    if "cdisc" in entry:
                        self.fail(f"{part}[{n}].cdisc", f"a{'n item' if part == 'items' else ' scale'}'s cdisc "
                                  "block needs the instrument's `cdisc` block (category, codes, source, "
                                  "evaluation_intervals)")
            return
        intervals = top["evaluation_intervals"]
        for period in self.doc["recall_periods"]:
            if period not in intervals:
                self.fail("cdisc.evaluation_intervals", f"no evaluation interval for recall period {period!r} "
                                                        "(give \"\" when it has none)")
        for period in intervals:
            if period not in self.doc["recall_periods"]:
                self.fail(f"cdisc.evaluation_intervals.{period}", "unknown recall period")
        seen: dict[str, int] = {}
        for n, item in enumerate(self.doc["items"]):
            block = item.get("cdisc")
            if block is None:
                self.fail(f"items[{n}]", "needs a cdisc block (testcd, test): the instrument has one")
                continue
            code = block["testcd"]
            if code == "QSALL":
                self.fail(f"items[{n}].cdisc.testcd", "QSALL is the code of a not-done assessment's record")
            elif code in seen:
                self.fail(f"items[{n}].cdisc.testcd", f"{code!r} is also the code of items[{seen[code]}]")
            seen.setdefault(code, n)
            texts = {item["text"][lang].strip().casefold() for lang in item["text"]}
            if block["test"].strip().casefold() in texts:
                self.fail(f"items[{n}].cdisc.test", "the test name is a short name of our own, not the item's "
                                                    "question text")
        parameters: dict[str, int] = {}
        for n, scale in enumerate(self.doc["scales"]):
            block = scale.get("cdisc")
            code = block["paramcd"] if block else scale["code"]  # a code that fits serves as its own
            if block is None and not _PARAMCD.fullmatch(code):
                self.fail(f"scales[{n}]", f"needs a cdisc block (paramcd): its code {code!r} is no ADaM "
                                          "parameter code (at most 8 upper-case letters and digits)")
                continue
            if code in parameters:
                self.fail(f"scales[{n}].cdisc.paramcd", f"{code!r} is also the code of scales[{parameters[code]}]")
            elif code in seen:
                self.fail(f"scales[{n}].cdisc.paramcd", f"{code!r} is also the test code of items[{seen[code]}] "
                                                        "(items are parameters of adqs too)")
            parameters.setdefault(code, n)


def _either(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _text(raw: dict[str, str]) -> Text:
    return Text(en=raw["en"], es=raw["es"])


#: Default chart titles per scale type, after the instrument's title (used when a file has no `charts:`).
_CHART_TITLES = {
    "functional": Text("functioning (higher is better)", "funcionamiento (un valor más alto es mejor)"),
    "global": Text("global health status (higher is better)", "estado de salud global (un valor más alto es mejor)"),
    "summary": Text("summary score (higher is better)", "puntuación resumen (un valor más alto es mejor)"),
    "symptom": Text("symptoms (higher is worse)", "síntomas (un valor más alto es peor)"),
    "composite": Text("composite grade per symptom", "grado compuesto por síntoma"),
}


def _charts(doc: dict[str, Any], title: Text) -> tuple[ChartGroup, ...]:
    """The file's chart groups, or one per scale type present (in order of appearance), so an instrument
    defined in YAML alone still shows in reports."""
    if "charts" in doc:
        return tuple(ChartGroup(c["id"], _text(c["title"]), tuple(c["types"])) for c in doc["charts"])
    types = list(dict.fromkeys(s["type"] for s in doc["scales"]))
    return tuple(
        ChartGroup(t, Text(f"{title.en}: {_CHART_TITLES[t].en}", f"{title.es}: {_CHART_TITLES[t].es}"), (t,))
        for t in types
    )


def _item(raw: dict[str, Any], doc: dict[str, Any], option_sets: dict[str, Any]) -> Item:
    item_type = item_type_of(raw)
    return Item(
        id=raw["id"],
        number=raw["number"],
        text=_text(raw["text"]),
        option_set=item_type.options(raw, option_sets),
        recall=raw.get("recall", doc["recall"]),
        type=item_type,
        gate=Gate(raw["gate"]["item"], tuple(raw["gate"]["not_applicable_if"]),
                  _text(raw["gate"]["instruction"])) if "gate" in raw else None,
        skip_if=tuple(Condition(c["item"], tuple(c["values"])) for c in raw.get("skip_if", ())),
        term=raw.get("term"),
        attribute=raw.get("attribute"),
        anchors=item_type.anchors(raw),
        cdisc=CdiscTest(raw["cdisc"]["testcd"], raw["cdisc"]["test"]) if "cdisc" in raw else None,
    )


def _to_model(doc: dict[str, Any], source: str) -> Instrument:
    option_sets = {set_id: build_option_set(set_id, options) for set_id, options in doc.get("option_sets", {}).items()}
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
            threshold=Threshold.from_dict(s["threshold"]) if "threshold" in s else None,
            paramcd=s["cdisc"]["paramcd"] if "cdisc" in s else (s["code"] if "cdisc" in doc else None),
        )
        for s in doc["scales"]
    )
    title = _text(doc["title"])
    return Instrument(
        id=doc["id"],
        version=doc["version"],
        title=title,
        wording=doc["wording"],
        licence=doc["licence"],
        instructions=_text(doc["instructions"]),
        recall_periods=MappingProxyType({k: _text(v) for k, v in doc["recall_periods"].items()}),
        recall=doc["recall"],
        option_sets=MappingProxyType(option_sets),
        items=tuple(_item(raw, doc, option_sets) for raw in doc["items"]),
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
        alert_rules=tuple(AlertRule(r["kind"], r["urgency"], r.get("value")) for r in doc.get("alert_rules", ())),
        charts=_charts(doc, title),
        cdisc=CdiscInfo(doc["cdisc"]["category"], doc["cdisc"]["codes"], doc["cdisc"]["source"],
                        MappingProxyType(dict(doc["cdisc"]["evaluation_intervals"]))) if "cdisc" in doc else None,
    )


def _check_model(instrument: Instrument) -> list[tuple[str, str]]:
    """Checks that need the built scales' value ranges: a threshold, or the grade an alert rule looks for,
    must be a value the scale can take."""
    problems = []
    for n, scale in enumerate(instrument.scales):
        if scale.threshold is not None:
            low, high = value_range(instrument, scale)
            if not low <= scale.threshold.value <= high:
                problems.append((f"scales[{n}].threshold", f"{scale.threshold.value} is outside the values "
                                                           f"{scale.code} can take ({low:g} to {high:g})"))
    grades = [value_range(instrument, s) for s in instrument.scales if s.type == "composite"]
    for n, rule in enumerate(instrument.alert_rules):
        if rule.kind == "grade_at_least" and grades and not any(low <= rule.value <= high for low, high in grades):
            problems.append((f"alert_rules[{n}].value", f"no composite scale reaches a grade of {rule.value:g}"))
    return problems
