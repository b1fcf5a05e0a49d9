"""The Spanish glossary (translations/glossary-es.md) holds: one term per concept across the instruments
and the interface, for patients in the United States (issue 10, item 8)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pro_app.i18n import read_catalog

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "translations" / "glossary-es.md"


def avoided_words(where: str = "instruments") -> dict[str, str]:
    """{avoided word: the term to use} for the instruments or the interface, from the glossary's table."""
    rows = [line.split("|")[1:-1] for line in GLOSSARY.read_text(encoding="utf-8").splitlines()
            if line.startswith("|") and not line.startswith("|---")]
    header, *body = rows
    assert [cell.strip() for cell in header][:4] == ["English", "Use", "Avoid", "Checked in"]
    words = {}
    for cells in body:
        use, avoid, scope = cells[1].strip(), cells[2].strip(), cells[3].strip()
        assert scope in ("everywhere", "instruments"), cells
        if where == "interface" and scope != "everywhere":
            continue
        for word in filter(None, (w.strip() for w in avoid.split(","))):
            words[word] = use
    return words


def spanish_of_instruments() -> list[tuple[str, str]]:
    """(file, text) for every Spanish string of the shipped instrument definitions."""
    found = []

    def walk(node, source):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "es" and isinstance(value, str):
                    found.append((source, value))
                else:
                    walk(value, source)
        elif isinstance(node, list):
            for value in node:
                walk(value, source)

    for path in sorted((ROOT / "instruments").glob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    return found


def spanish_of_interface() -> list[tuple[str, str]]:
    texts = []
    for message in read_catalog("es"):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        texts += [("messages.po", s) for s in strings if message.id and s]
    return texts


def test_the_glossary_lists_the_spain_words_the_sites_reported():
    avoided = avoided_words()
    for word in ("moratones", "gotero", "escozor", "picor", "mamas", "pelo"):
        assert word in avoided


@pytest.mark.parametrize("source", ["instruments", "interface"])
def test_no_avoided_word_in_the_spanish(source):
    texts = spanish_of_instruments() if source == "instruments" else spanish_of_interface()
    assert len(texts) > 300
    offending = []
    for word, use in avoided_words(source).items():
        pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
        offending += [f"{where}: {word!r} (use {use!r}) in {text!r}" for where, text in texts if pattern.search(text)]
    assert not offending, "\n".join(offending)


def test_one_term_for_hair_and_breast_across_instruments():
    texts = " ".join(text for _, text in spanish_of_instruments())
    assert "cabello" in texts and "seno" in texts and "bochornos" in texts and "moretones" in texts


# The items the sites found awkward (issue 10): what each now asks, and the wording it must not go back to.
REWORDED = {
    ("qlq_c30", "q4"): ("quedarse en la cama", "pasar tiempo en la cama"),  # stay in bed, not spend time there
    ("qlq_br45", "q31"): ("ha tenido la boca seca", "ha notado la boca seca"),  # a dry mouth had, not noticed
    ("qlq_br45", "q55"): ("cambios repentinos de humor", "cambios bruscos de humor"),
}


@pytest.mark.parametrize("item", list(REWORDED), ids=lambda item: "-".join(item))
def test_the_awkward_items_read_plainly(item):
    from pro_app.instruments import get_instrument

    says, not_ = REWORDED[item]
    text = get_instrument(item[0]).item(item[1]).text.get("es")
    assert says in text and not_ not in text, text
    assert text.startswith("¿En qué medida "), text  # "How much" of a state, as the other C30/BR45 items ask it


def test_the_skip_page_has_no_double_negative():
    """The skip page said "No tiene que responder ninguna pregunta que prefiera no contestar": three negations."""
    [message] = [m for m in read_catalog("es") if m.id and str(m.id).startswith("You do not have to answer")]
    negations = re.findall(r"(?<!\w)(no|ninguna|ninguno|nunca|nada|tampoco)(?!\w)", message.string, re.IGNORECASE)
    assert len(negations) <= 1, message.string
