"""instruments/README.md is the reference of the definition format: every key the schema allows, every item
type and every scoring method is described there."""

import json
import re

from pro_app.instruments import ALERT_RULE_KINDS, ITEM_TYPES, SCORING_METHODS
from tests.support.definitions import BUNDLED

README = (BUNDLED / "README.md").read_text(encoding="utf-8")
SCHEMA = json.loads((BUNDLED / "schema.json").read_text(encoding="utf-8"))


def schema_keys(node) -> set[str]:
    keys = set()
    if isinstance(node, dict):
        keys |= set(node.get("properties", {}))
        for value in node.values():
            keys |= schema_keys(value)
    elif isinstance(node, list):
        for value in node:
            keys |= schema_keys(value)
    return keys


def test_every_schema_key_is_documented():
    in_code = " ".join(re.findall(r"`[^`\n]+`", README))  # `key`, `{number, name, body_system}`, …
    in_examples = " ".join(re.findall(r"```yaml\n(.*?)```", README, re.S))
    documented = set(re.findall(r"[a-z_]+", in_code)) | set(re.findall(r"([a-z_]+):", in_examples))
    missing = schema_keys(SCHEMA) - documented
    assert not missing, f"not described in instruments/README.md: {sorted(missing)}"


def test_every_item_type_method_and_alert_rule_kind_is_documented():
    for name in (*ITEM_TYPES, *SCORING_METHODS, *ALERT_RULE_KINDS):
        assert f"`{name}`" in README, name
