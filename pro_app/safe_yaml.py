"""The one way pro-app reads YAML it did not write: safe tags only, no aliases, and bounds on size, nesting and
numbers, so that a few hundred bytes can neither take seconds and gigabytes (an alias bomb) nor end in an
error no one handles (a 5,000-digit integer, 500 nested lists). Free of Flask: the instrument library uses it
too; callers translate `YamlRefused.kind` into their own messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

try:  # the C parser is several times faster on the large PRO-CTCAE file
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_resolver = yaml.resolver.Resolver()


@dataclass(frozen=True)
class Limits:
    #: characters of the whole text
    chars: int = 500_000
    #: lists and mappings inside one another
    depth: int = 32
    #: characters of one number as written (a double has 17 significant digits)
    number_chars: int = 24
    #: whole numbers beyond this (either sign) are refused: exact in a double, in JSON and in a database column
    whole_number: int = 2**53
    #: aliases (*name) accepted: only for files the operator installs (instrument definitions), never for
    #: text from a form or an upload
    aliases: bool = False


#: Why a text was refused: the caller's message names it.
SYNTAX, ALIAS, DEPTH, NUMBER, SIZE = "syntax", "alias", "depth", "number", "size"
_PROBLEMS = {SYNTAX: "not valid YAML", ALIAS: "aliases (*name) are not accepted",
             DEPTH: "lists and mappings nested too deeply", NUMBER: "a number too long or too large",
             SIZE: "the text is too long"}


class YamlRefused(ValueError):
    """The text is not YAML pro-app reads; `kind` is one of SYNTAX, ALIAS, DEPTH, NUMBER, SIZE and `line` the
    line (from 1) where the problem was found."""

    def __init__(self, kind: str, line: int = 1, problem: str = ""):
        self.kind, self.line = kind, line
        self.problem = problem or _PROBLEMS[kind]
        super().__init__(f"line {line}: {self.problem}")


def _line(thing: Any) -> int:
    mark = getattr(thing, "start_mark", None) or getattr(thing, "problem_mark", None)
    return mark.line + 1 if mark is not None else 1


def _is_number(event: yaml.ScalarEvent) -> bool:
    if event.tag not in (None, "!"):
        return event.tag in _NUMBER_TAGS
    return _resolver.resolve(yaml.ScalarNode, event.value, event.implicit) in _NUMBER_TAGS


def _check_events(text: str, limits: Limits) -> None:
    """One pass over the parser's events (no document is built yet): aliases, nesting and long numbers."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) and not limits.aliases:
            raise YamlRefused(ALIAS, _line(event))
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.depth:
                raise YamlRefused(DEPTH, _line(event))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent) and len(event.value) > limits.number_chars and _is_number(event):
            raise YamlRefused(NUMBER, _line(event))


def _check_numbers(value: Any, limits: Limits) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > limits.whole_number:
            raise YamlRefused(NUMBER)


def load(text: str, limits: Limits = Limits()) -> Any:  # noqa: B008 - a frozen dataclass, never changed
    """The document in `text` (None for an empty one). YamlRefused: not YAML, or outside `limits`."""
    if len(text) > limits.chars:
        raise YamlRefused(SIZE)
    try:
        _check_events(text, limits)
        value = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader, and aliases were refused above
    except YamlRefused:
        raise
    except yaml.YAMLError as exc:
        raise YamlRefused(SYNTAX, _line(exc), getattr(exc, "problem", None) or str(exc)) from None
    except (ValueError, OverflowError, RecursionError):  # a timestamp like 2026-13-45, a huge exponent
        raise YamlRefused(SYNTAX) from None
    _check_numbers(value, limits)
    return value
