"""A study's definition as plain data: to and from YAML, and its validation (every problem found, each a
whole translated sentence). The changes made from a definition are in services.py."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

import yaml
from flask_babel import gettext as _

from .. import safe_yaml
from ..alerts.mail import valid_address
from ..alerts.notify import recipient_entries
from ..alerts.rules import DEFAULT_VALUES, default_rules, study_rules
from ..alerts.services import ACTION_MAX, DEFAULT_ACTIONS, study_actions
from ..extensions import library
from ..i18n import current_language
from ..models import Study, default_thresholds
from ..vocabulary import URGENCY_NAMES, AlertKind, Anchor, RepeatUnit
from .limits import MAX_DAYS, MAX_REPEATS

#: Format 2 names each selection by its instrument (`selections`); format 1 had `proctcae_terms`, still read.
FORMAT_VERSION = 2
READS_FORMATS = (1, 2)
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TOP_FIELDS = ("format", "code", "title", "anchor_event", "arms", "sites", "timepoints", "selections",
              "thresholds", "alert_rules", "alert_actions", "alert_recipients", "alert_digest", "double_entry")
RECIPIENT_FIELDS = ("email", "language")
RULE_FIELDS = ("kind", "source", "value", "urgency", "enabled", "exclude_baseline")
#: Format 1's one selection: the terms of the (one) instrument with selectable items.
FORMAT_1_TERMS = "proctcae_terms"
SITE_FIELDS = ("code", "name", "timezone")
TIMEPOINT_FIELDS = ("code", "label", "label_es", "anchor", "target_day", "window_before", "window_after",
                    "instruments", "repeat_every", "repeat_unit", "repeat_until", "repeat_count")
#: A timepoint's repeat fields, all None for one that happens once.
REPEAT_FIELDS = ("repeat_every", "repeat_unit", "repeat_until", "repeat_count")
LANGUAGES = ("en", "es")
MAX_LABEL = 120

MAX_SITE_NAME = 200
MAX_ARMS = 50
#: An alert rule's value is a grade, an answer or a score (0-100) or a change of one: far below this.
MAX_RULE_VALUE = 1000
#: A study's list of actions taken on an alert, and of who is emailed about its alerts.
MAX_ACTIONS = 30
MAX_RECIPIENTS = 50


class StudyError(ValueError):
    """A definition or change that cannot be accepted; `messages` are whole, translated sentences."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


class StudyYamlError(StudyError):
    """A text that is not a YAML document pro-app reads; `kind` is a safe_yaml kind (SYNTAX, ALIAS…)."""

    def __init__(self, messages: list[str], kind: str):
        super().__init__(messages)
        self.kind = kind


class StudyExists(StudyError):
    """An import names a study that already exists and the update was not confirmed."""


# --- definition <-> dict / YAML -------------------------------------------------------------------------

def definition_of(study: Study) -> dict[str, Any]:
    """The study as plain data, in the order a reader expects (the YAML export and the audit trail)."""
    return {
        "format": FORMAT_VERSION,
        "code": study.code,
        "title": study.title,
        "anchor_event": study.anchor_event,
        "arms": list(study.arms or ()),
        "sites": [{"code": s.code, "name": s.name, "timezone": s.timezone} for s in study.sites],
        "timepoints": [
            {"code": t.code, "label": t.label, "label_es": t.label_es,
             "anchor": str(t.anchor or Anchor.TREATMENT_START),
             "target_day": t.target_day, "window_before": t.window_before,
             "window_after": t.window_after, "instruments": list(t.instruments),
             **({f: getattr(t, f) for f in REPEAT_FIELDS} if t.repeat_every else {})}
            for t in sorted(study.timepoints, key=lambda t: t.position)
        ],
        "selections": {instrument: list(terms) for instrument, terms in (study.selections or {}).items()},
        "thresholds": {code: dict(rule) for code, rule in (study.thresholds or {}).items()},
        "alert_rules": [dict(rule) for rule in study_rules(study)],
        "alert_actions": study_actions(study),
        "alert_recipients": [{k: e[k] for k in RECIPIENT_FIELDS if e.get(k)} for e in recipient_entries(study)],
        "alert_digest": bool(study.alert_digest),
        "double_entry": bool(study.double_entry),
    }


def to_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)


#: A study definition is a few kilobytes; the import form takes at most this many characters.
YAML_LIMITS = safe_yaml.Limits(chars=200_000)


def _yaml_problem(refused: safe_yaml.YamlRefused) -> str:
    line = refused.line
    return {
        safe_yaml.ALIAS: _("Aliases (*name) are not accepted in a study definition (line %(line)d): write each "
                           "value out.", line=line),
        safe_yaml.DEPTH: _("Lists and mappings are nested too deeply (line %(line)d).", line=line),
        safe_yaml.NUMBER: _("A number is too long or too large (near line %(line)d).", line=line),
        safe_yaml.SIZE: _("The text is too long: at most %(max)d characters.", max=YAML_LIMITS.chars),
    }.get(refused.kind) or _("The text is not valid YAML (near line %(line)d).", line=line)


def parse_yaml(text: str) -> Any:
    """The document in a study definition's text (None when empty); StudyYamlError says what was refused."""
    if not text or not text.strip():
        return None
    try:
        return safe_yaml.load(text, YAML_LIMITS)
    except safe_yaml.YamlRefused as refused:
        raise StudyYamlError([_yaml_problem(refused)], refused.kind) from None


# --- validation -----------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def known_time_zone(name: str) -> bool:
    """An IANA zone name of the system's database. Looked up in the list, never opened as a path: a folder
    ("America"), a name too long for the file system or with control characters is simply not a zone."""
    return len(name) <= 64 and name in _time_zones()


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,15}", value.strip()):
        return int(value)
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())


def _validate_sites(raw: Any, errors: list[str]) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        errors.append(_("At least one site is required, each with a code, a name and a time zone."))
        return []
    sites, seen = [], set()
    for position, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or not _text(entry.get("code")) or not _text(entry.get("name")):
            errors.append(_("Site %(position)d needs a code and a name.", position=position))
            continue
        code, zone = _text(entry["code"]), _text(entry.get("timezone")) or "UTC"
        for field in entry:
            if field not in SITE_FIELDS:
                errors.append(_("Site %(code)s has an unknown field: %(field)s.", code=code, field=field))
        if not CODE_PATTERN.fullmatch(code) or len(code) > 32:
            errors.append(_("Site code %(code)s may use only letters, digits, dots, dashes and underscores "
                            "(at most 32).", code=code))
        if code in seen:
            errors.append(_("Site code %(code)s appears more than once.", code=code))
        seen.add(code)
        if not known_time_zone(zone):
            errors.append(_("Site %(code)s has an unknown time zone: %(timezone)s.", code=code, timezone=zone))
        name = _text(entry["name"])
        if len(name) > MAX_SITE_NAME:
            errors.append(_("Site %(code)s: the name may have at most %(max)d characters.", code=code,
                            max=MAX_SITE_NAME))
        sites.append({"code": code, "name": name, "timezone": zone})
    return sites


def _validate_arms(raw: Any, errors: list[str]) -> list[str]:
    """The study's arm or cohort codes, in order (none is fine: a single-arm study)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(_("The arms must be a list of arm or cohort codes."))
        return []
    arms: list[str] = []
    for value in raw:
        code = _text(value)
        if not CODE_PATTERN.fullmatch(code):
            errors.append(_("Arm code %(code)s may use only letters, digits, dots, dashes and underscores "
                            "(at most 64).", code=code))
        elif code in arms:
            errors.append(_("Arm code %(code)s appears more than once.", code=code))
        else:
            arms.append(code)
    if len(arms) > MAX_ARMS:
        errors.append(_("A study may have at most %(max)d arms or cohorts.", max=MAX_ARMS))
    return arms


def _timepoint_days(code: str, entry: dict, errors: list[str]) -> dict[str, int | None]:
    numbers = {}
    for field, default in (("target_day", None), ("window_before", 0), ("window_after", 0)):
        number = _whole_number(entry.get(field, default))
        if number is None:
            errors.append(_("Timepoint %(code)s: %(field)s must be a whole number of days.", code=code, field=field))
        elif field == "target_day" and not -MAX_DAYS <= number <= MAX_DAYS:
            errors.append(_("Timepoint %(code)s: %(field)s must be between %(low)d and %(high)d days.",
                            code=code, field=field, low=-MAX_DAYS, high=MAX_DAYS))
            number = None
        elif field != "target_day" and number < 0:
            errors.append(_("Timepoint %(code)s: a window before or after the target day cannot be negative.",
                            code=code))
            number = None
        elif field != "target_day" and number > MAX_DAYS:
            errors.append(_("Timepoint %(code)s: %(field)s must be between %(low)d and %(high)d days.",
                            code=code, field=field, low=0, high=MAX_DAYS))
            number = None
        numbers[field] = number
    return numbers


def _timepoint_instruments(code: str, entry: dict, known: tuple[str, ...], errors: list[str]) -> list[str]:
    instruments = entry.get("instruments")
    if not isinstance(instruments, list) or not instruments:
        errors.append(_("Timepoint %(code)s needs at least one instrument.", code=code))
        return []
    for instrument in instruments:
        if instrument not in known:
            errors.append(_("Timepoint %(code)s: unknown instrument %(instrument)s (known: %(known)s).",
                            code=code, instrument=instrument, known=", ".join(known)))
    if len(set(map(str, instruments))) != len(instruments):
        errors.append(_("Timepoint %(code)s lists an instrument more than once.", code=code))
    return [str(i) for i in instruments]


def _validate_timepoints(raw: Any, errors: list[str]) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        errors.append(_("At least one timepoint is required."))
        return []
    known = library.registry.ids
    timepoints, seen = [], set()
    for position, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or not _text(entry.get("code")):
            errors.append(_("Timepoint %(position)d needs a code.", position=position))
            continue
        code = _text(entry["code"])
        for field in entry:
            if field not in TIMEPOINT_FIELDS:
                errors.append(_("Timepoint %(code)s has an unknown field: %(field)s.", code=code, field=field))
        if not CODE_PATTERN.fullmatch(code) or len(code) > 32:
            errors.append(_("Timepoint code %(code)s may use only letters, digits, dots, dashes and underscores "
                            "(at most 32).", code=code))
        if code in seen:
            errors.append(_("Timepoint code %(code)s appears more than once.", code=code))
        seen.add(code)
        label = _text(entry.get("label")) or code
        label_es = _text(entry.get("label_es")) or None
        if len(label) > MAX_LABEL or len(label_es or "") > MAX_LABEL:
            errors.append(_("Timepoint %(code)s: the label may have at most %(max)d characters.", code=code,
                            max=MAX_LABEL))
        anchor = _text(entry.get("anchor")) or Anchor.TREATMENT_START
        if anchor not in {a.value for a in Anchor}:
            errors.append(_("Timepoint %(code)s: the anchor must be one of %(anchors)s.", code=code,
                            anchors=", ".join(a.value for a in Anchor)))
        days = _timepoint_days(code, entry, errors)
        timepoints.append({"code": code, "label": label, "label_es": label_es, "anchor": str(anchor), **days,
                           "instruments": _timepoint_instruments(code, entry, known, errors),
                           **_timepoint_repeat(code, entry, str(anchor), days["target_day"], errors)})
    return timepoints


def _timepoint_repeat(code: str, entry: dict, anchor: str, target_day: int | None,
                      errors: list[str]) -> dict[str, Any]:
    """The repeat fields of a timepoint (all None: it happens once). A repeating timepoint needs an interval,
    and an end: the date of another anchor event, a number of occurrences, or both (whichever comes first).
    The last occurrence a count allows must stay within MAX_DAYS of the anchor, like every target day."""
    once = dict.fromkeys(REPEAT_FIELDS)
    if all(_text(entry.get(f)) == "" for f in REPEAT_FIELDS):
        return once
    every = _whole_number(entry.get("repeat_every"))
    unit = _text(entry.get("repeat_unit")) or RepeatUnit.DAYS
    until = _text(entry.get("repeat_until")) or None
    raw_count = entry.get("repeat_count")
    count = None if _text(raw_count) == "" else _whole_number(raw_count)
    problems = len(errors)
    if unit not in {u.value for u in RepeatUnit}:
        errors.append(_("Timepoint %(code)s: repeat_unit must be days or weeks.", code=code))
    elif every is None or not 1 <= every * (7 if unit == RepeatUnit.WEEKS else 1) <= MAX_DAYS:
        errors.append(_("Timepoint %(code)s: repeat_every must be a whole number of days or weeks, at least 1 and "
                        "at most %(max)d days in all.", code=code, max=MAX_DAYS))
    if until is not None and until not in {a.value for a in Anchor}:
        errors.append(_("Timepoint %(code)s: repeat_until must be one of %(anchors)s.", code=code,
                        anchors=", ".join(a.value for a in Anchor)))
    elif until is not None and until == anchor:
        errors.append(_("Timepoint %(code)s repeats until the event it counts from: choose a later event or a "
                        "number of occurrences.", code=code))
    if _text(raw_count) != "" and (count is None or not 1 <= count <= MAX_REPEATS):
        errors.append(_("Timepoint %(code)s: repeat_count must be a whole number from 1 to %(max)d.", code=code,
                        max=MAX_REPEATS))
    elif until is None and count is None:
        errors.append(_("Timepoint %(code)s repeats without an end: give the event it repeats until, a number "
                        "of occurrences, or both.", code=code))
    if len(errors) > problems:
        return once
    step = every * (7 if unit == RepeatUnit.WEEKS else 1)
    if count is not None and target_day is not None and abs(target_day + (count - 1) * step) > MAX_DAYS:
        errors.append(_("Timepoint %(code)s: its last occurrence would be more than %(max)d days from the "
                        "anchor; repeat fewer times or less often.", code=code, max=MAX_DAYS))
        return once
    return {"repeat_every": every, "repeat_unit": str(unit), "repeat_until": until, "repeat_count": count}


def _validate_terms(instrument, raw: Any, errors: list[str]) -> list[int]:
    name = instrument.title.get(current_language())
    if not isinstance(raw, list):
        errors.append(_("The terms of %(instrument)s must be a list of term numbers.", instrument=name))
        return []
    known = {t.number for t in instrument.terms}
    terms: list[int] = []
    for value in raw:
        number = _whole_number(value)
        if number is None or number not in known:
            errors.append(_("Unknown term of %(instrument)s: %(term)s.", instrument=name, term=value))
        elif number not in terms:
            terms.append(number)
    return terms


def _validate_selections(raw: Any, errors: list[str]) -> dict[str, list[int]]:
    """{instrument id: [term numbers]} for instruments with selectable items; an empty list is no selection."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.append(_("The selections must map an instrument to a list of its term numbers."))
        return {}
    selectable = {i.id: i for i in library.selectable()}
    selections = {}
    for instrument_id, terms in raw.items():
        instrument = selectable.get(instrument_id)
        if instrument is None:
            errors.append(_("%(instrument)s has no terms to select (instruments with terms: %(known)s).",
                            instrument=instrument_id, known=", ".join(selectable) or "-"))
            continue
        chosen = _validate_terms(instrument, terms, errors)
        if chosen:
            selections[instrument.id] = chosen
    return selections


def _format_1_selections(data: dict, errors: list[str]) -> Any:
    """A format-1 file's `proctcae_terms`, as format 2's `selections` (the one instrument with terms)."""
    if data.get(FORMAT_1_TERMS) is None:
        return data.get("selections")
    selectable = library.selectable()
    if len(selectable) != 1:
        errors.append(_("This file gives terms without naming their instrument; give them as selections."))
        return None
    return {selectable[0].id: data[FORMAT_1_TERMS]}


def _validate_thresholds(raw: Any, errors: list[str]) -> dict[str, dict[str, float]]:
    if raw is None:
        return default_thresholds()
    if not isinstance(raw, dict):
        errors.append(_("The thresholds must map scale codes to a rule such as {below: 83} or {above: 39}."))
        return {}
    scales = {code for instrument in library.registry for code in instrument.scale_codes}
    thresholds = {}
    for code, rule in raw.items():
        if code not in scales:
            errors.append(_("Thresholds name an unknown scale: %(scale)s.", scale=code))
            continue
        value = next(iter(rule.values()), None) if isinstance(rule, dict) and len(rule) == 1 else None
        if (not isinstance(rule, dict) or len(rule) != 1 or next(iter(rule)) not in ("below", "above")
                or isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100):
            errors.append(_("The threshold for %(scale)s must be either below or above a number from 0 to 100.",
                            scale=code))
            continue
        thresholds[str(code)] = {next(iter(rule)): value}
    return thresholds


def _rule_sources() -> set[str]:
    return {code for i in library.registry for code in i.scale_codes} | {
        item for i in library.registry for item in i.item_ids}


def _validate_alert_rules(raw: Any, errors: list[str]) -> list[dict[str, Any]]:
    """The study's alert rules (alerts/rules.py), each in RULE_FIELDS' order; none given: the defaults."""
    if raw is None:
        return default_rules()
    if not isinstance(raw, list):
        errors.append(_("The alert rules must be a list, each with a kind and an urgency."))
        return []
    kinds, sources, rules = {k.value for k in AlertKind}, _rule_sources(), []
    for n, rule in enumerate(raw, start=1):
        if not isinstance(rule, dict) or any(f not in RULE_FIELDS for f in rule):
            errors.append(_("Alert rule %(n)d must be a mapping of %(fields)s.", n=n, fields=", ".join(RULE_FIELDS)))
            continue
        kind, value = rule.get("kind"), rule.get("value")
        if kind not in kinds:
            errors.append(_("Alert rule %(n)d has an unknown kind; the kinds are %(kinds)s.", n=n,
                            kinds=", ".join(k.value for k in AlertKind)))
            continue
        if rule.get("urgency") not in URGENCY_NAMES:
            errors.append(_("Alert rule %(n)d needs an urgency: urgent, review or note.", n=n))
            continue
        if rule.get("source") is not None and rule["source"] not in sources:
            errors.append(_("Alert rule %(n)d names an unknown scale or item: %(source)s.", n=n,
                            source=rule["source"]))
            continue
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not 0 <= value <= MAX_RULE_VALUE):
            errors.append(_("Alert rule %(n)d needs a value from 0 to %(max)d.", n=n, max=MAX_RULE_VALUE))
            continue
        if kind == AlertKind.ITEM_VALUE and value is None:
            errors.append(_("Alert rule %(n)d (an answer to an item) needs the value of the answer.", n=n))
            continue
        flags = [rule.get(f, default) for f, default in (("enabled", True), ("exclude_baseline", False))]
        if not all(isinstance(f, bool) for f in flags):
            errors.append(_("Alert rule %(n)d: enabled and exclude_baseline are true or false.", n=n))
            continue
        clean: dict[str, Any] = {"kind": kind}
        if rule.get("source") is not None:
            clean["source"] = rule["source"]
        if value is not None or kind in DEFAULT_VALUES:
            clean["value"] = DEFAULT_VALUES[kind] if value is None else value
        clean.update(urgency=rule["urgency"], enabled=flags[0], exclude_baseline=flags[1])
        rules.append(clean)
    return rules


def _validate_alert_actions(raw: Any, errors: list[str]) -> list[str]:
    """The actions a nurse picks from when acknowledging (none given: the standard ones)."""
    if raw is None or raw == []:
        return list(DEFAULT_ACTIONS)
    if not isinstance(raw, list):
        errors.append(_("The actions taken on an alert must be a list of short texts."))
        return []
    actions: list[str] = []
    for value in raw:
        action = _text(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else ""
        if not action or len(action) > ACTION_MAX or any(ord(c) < 32 for c in action):
            errors.append(_("Each action taken on an alert is a text of 1 to %(max)d characters on one line.",
                            max=ACTION_MAX))
        elif action in actions:
            errors.append(_("The action %(action)s appears more than once.", action=action))
        else:
            actions.append(action)
    if len(raw) > MAX_ACTIONS:
        errors.append(_("A study may list at most %(max)d actions taken on an alert.", max=MAX_ACTIONS))
    return actions


def _validate_alert_recipients(raw: Any, errors: list[str]) -> list[dict[str, str]]:
    """Who is emailed about the study's alerts: [{email, language (en or es, optional)}]; a plain address is
    read as {email: address}."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(_("The alert recipients must be a list of email addresses, each optionally with a "
                        "language (en or es)."))
        return []
    recipients: list[dict[str, str]] = []
    seen = set()
    for n, entry in enumerate(raw, start=1):
        entry = {"email": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict) or any(f not in RECIPIENT_FIELDS for f in entry):
            errors.append(_("Alert recipient %(n)d must be an email address, or a mapping of email and "
                            "language.", n=n))
            continue
        email = _text(entry.get("email")).lower() if isinstance(entry.get("email"), str) else ""
        if not valid_address(email):
            errors.append(_("Alert recipient %(n)d is not a valid email address.", n=n))
            continue
        language = entry.get("language")
        if language is not None and language not in LANGUAGES:
            errors.append(_("Alert recipient %(email)s: the language is en or es (or left out).", email=email))
            continue
        if email in seen:
            errors.append(_("The alert recipient %(email)s appears more than once.", email=email))
            continue
        seen.add(email)
        recipients.append({"email": email, **({"language": language} if language else {})})
    if len(raw) > MAX_RECIPIENTS:
        errors.append(_("A study may name at most %(max)d alert recipients.", max=MAX_RECIPIENTS))
    return recipients


def _validate_digest(raw: Any, errors: list[str]) -> bool:
    if raw is None:
        return False
    if not isinstance(raw, bool):
        errors.append(_("alert_digest is true or false."))
        return False
    return raw


def _validate_double_entry(raw: Any, errors: list[str]) -> bool:
    """Whether paper forms are keyed twice: true or false (absent: false)."""
    if raw is None:
        return False
    if not isinstance(raw, bool):
        errors.append(_("double_entry must be true or false."))
        return False
    return raw


def validate(data: Any) -> dict[str, Any]:
    """A clean definition from untrusted data (a form, an uploaded file); StudyError lists every problem."""
    if not isinstance(data, dict):
        raise StudyError([_("A study definition must be a mapping with code, title, sites and timepoints.")])
    errors: list[str] = []
    version = data.get("format", FORMAT_VERSION)
    for field in data:
        if field not in TOP_FIELDS and not (version == 1 and field == FORMAT_1_TERMS):
            errors.append(_("Unknown field in the study definition: %(field)s.", field=field))
    if version not in READS_FORMATS:
        errors.append(_("This file is in a study definition format this version does not read: %(format)s.",
                        format=version))
    code, title = _text(data.get("code")), _text(data.get("title"))
    if not CODE_PATTERN.fullmatch(code):
        errors.append(_("The study code is required and may use only letters, digits, dots, dashes and "
                        "underscores (at most 64), for example NCT01234567."))
    if not title or len(title) > 300:
        errors.append(_("The title is required (at most 300 characters)."))
    anchor = _text(data.get("anchor_event")) or "Start of radiotherapy"
    if len(anchor) > MAX_LABEL:
        errors.append(_("The anchor event may have at most %(max)d characters.", max=MAX_LABEL))
    clean = {
        "code": code, "title": title, "anchor_event": anchor,
        "arms": _validate_arms(data.get("arms"), errors),
        "sites": _validate_sites(data.get("sites"), errors),
        "timepoints": _validate_timepoints(data.get("timepoints"), errors),
        "selections": _validate_selections(_format_1_selections(data, errors), errors),
        "thresholds": _validate_thresholds(data.get("thresholds"), errors),
        "alert_rules": _validate_alert_rules(data.get("alert_rules"), errors),
        "alert_actions": _validate_alert_actions(data.get("alert_actions"), errors),
        "alert_recipients": _validate_alert_recipients(data.get("alert_recipients"), errors),
        "alert_digest": _validate_digest(data.get("alert_digest"), errors),
        "double_entry": _validate_double_entry(data.get("double_entry", False), errors),
    }
    if not errors:
        errors.extend(_unselected(clean))
    if errors:
        raise StudyError(errors)
    return clean


def _unselected(clean: dict[str, Any]) -> list[str]:
    """An instrument with selectable items asked at a timepoint needs the study's selection of its terms."""
    asked = {i for t in clean["timepoints"] for i in t["instruments"]}
    return [_("%(instrument)s is asked at a timepoint, so the study needs a selection of its terms.",
              instrument=instrument.title.get(current_language()))
            for instrument in library.selectable()
            if instrument.id in asked and instrument.id not in clean["selections"]]
