"""Interface languages: the message catalogs are current, complete and safe, and requests get the right language.

When a catalog test fails, refresh the catalogs with the two commands in the comment above
`[[tool.babel.mappings]]` in pyproject.toml, then translate whatever is new in the Spanish catalog.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from pro_app import create_app, i18n

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "translations" / "messages.pot"
REFRESH = "run python translations/refresh.py, then translate what is new"

# The extraction command of pyproject.toml, writing to a temporary file instead of the committed template.
EXTRACT_OPTIONS = ["-F", "pyproject.toml", "-k", "_l", "--no-location", "--sort-output", "--omit-header"]

# %(name)s-style placeholders, `%%`, and any other `%` (which Jinja's new-style gettext would choke on).
PERCENT = re.compile(r"%(?:\((?P<name>[^)]*)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%)|%")
MARKUP = re.compile(r"[<>]")


def read_catalog(path: Path, locale: str | None = None):
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def key(message) -> tuple[str, str | None, str | None]:
    """(msgid, msgid_plural, context): what identifies a message to gettext."""
    if message.pluralizable:
        return message.id[0], message.id[1], message.context
    return message.id, None, message.context


def messages(catalog) -> list:
    return [m for m in catalog if m.id]  # skip the header entry


def strings(message) -> list[str]:
    return list(message.string) if message.pluralizable else [message.string]


def placeholders(text: str) -> list[str]:
    """Every %-directive in `text`, sorted: named ones as written (`%(num)d`), `%%`, and stray `%` as '%'."""
    return sorted(m.group(0) for m in PERCENT.finditer(text))


def spanish_catalogs() -> list[Path]:
    return [i18n.translations_dir() / lang / "LC_MESSAGES" / "messages.po" for lang in i18n.LANGUAGES[1:]]


@pytest.fixture(scope="module")
def template():
    return read_catalog(TEMPLATE)


@pytest.fixture(scope="module")
def es():
    return i18n.read_catalog("es")


@pytest.fixture(scope="module")
def es_text(es):
    """English source string -> Spanish translation, for the page checks (so rewording needs no test change)."""
    return {m.id: m.string for m in messages(es) if not m.pluralizable}


# --- the catalogs -----------------------------------------------------------------------------------------------


def test_every_configured_language_has_a_catalog():
    assert i18n.LANGUAGES[0] == "en", "English is the source language and must come first"
    for path in spanish_catalogs():
        assert path.is_file(), f"configured language without a catalog: {path}"


def test_start_up_refuses_a_configured_language_without_a_catalog(tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "translations_dir", lambda: tmp_path / "empty")
    with pytest.raises(RuntimeError, match="no message catalog"):
        i18n.compile_catalogs(tmp_path / "compiled")


def poisoned_catalogs(tmp_path: Path, msgstr: str) -> Path:
    """A copy of the translations whose first Spanish message is translated as `msgstr`."""
    source = (i18n.translations_dir() / "es" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    poisoned = re.sub(r'(\nmsgid "[^"]+"\nmsgstr )"[^"]*"', lambda m: m.group(1) + f'"{msgstr}"', source, count=1)
    assert poisoned != source
    folder = tmp_path / "translations" / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(poisoned, encoding="utf-8")
    return tmp_path / "translations"


@pytest.mark.parametrize("msgstr", ["<img src=x onerror=alert(1)>", "Hola <b>", "a > b"])
def test_start_up_refuses_a_translation_that_adds_markup(tmp_path, monkeypatch, settings, msgstr):
    poisoned = poisoned_catalogs(tmp_path, msgstr)
    monkeypatch.setattr(i18n, "translations_dir", lambda: poisoned)
    with pytest.raises(i18n.CatalogMarkupError, match="adds markup"):
        i18n.compile_catalogs(tmp_path / "compiled")
    with pytest.raises(i18n.CatalogMarkupError):
        create_app(settings)  # compile_catalogs runs at start-up: the app is never built
    assert not (tmp_path / "compiled" / "es" / "LC_MESSAGES" / "messages.mo").exists()


def test_message_template_is_current(tmp_path, template):
    fresh = tmp_path / "fresh.pot"
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from babel.messages.frontend import main; sys.exit(main())",
         "-q", "extract", *EXTRACT_OPTIONS, "-o", str(fresh), "pro_app"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    extracted = {key(m) for m in messages(read_catalog(fresh))}
    committed = {key(m) for m in messages(template)}
    assert extracted, "the extraction found no messages at all"
    assert sorted(extracted - committed) == [], f"in the sources but not in translations/messages.pot: {REFRESH}"
    assert sorted(committed - extracted) == [], f"in translations/messages.pot but not in the sources: {REFRESH}"


def test_spanish_catalog_has_exactly_the_template_messages(template, es):
    wanted = {key(m) for m in messages(template)}
    present = {key(m) for m in messages(es)}
    assert sorted(wanted - present) == [], f"missing from the Spanish catalog: {REFRESH}"
    assert sorted(present - wanted) == [], f"not in the template any more: {REFRESH}"


def test_every_spanish_translation_is_done(es):
    assert es.num_plurals == 2
    fuzzy = [m.id for m in messages(es) if m.fuzzy]
    empty = [m.id for m in messages(es) if not all(s.strip() for s in strings(m))]
    short = [m.id for m in messages(es) if m.pluralizable and len(m.string) != es.num_plurals]
    assert fuzzy == [], "fuzzy translations (review them and remove the flag)"
    assert empty == [], "untranslated messages"
    assert short == [], "plural messages need both Spanish forms"


@pytest.mark.parametrize("catalog_path", [TEMPLATE, *spanish_catalogs()], ids=lambda p: p.parent.parent.name)
def test_messages_and_translations_carry_no_markup(catalog_path):
    # Jinja marks a translated string safe (only %(name)s values are escaped): markup in a catalog would run.
    offending = [(m.id, s) for m in messages(read_catalog(catalog_path))
                 for s in [*(m.id if m.pluralizable else [m.id]), *strings(m)] if MARKUP.search(s)]
    assert offending == [], "HTML markup in the message catalog (SECURITY.md item 8)"


def test_source_messages_use_named_placeholders(template):
    # Translators reorder sentences; Jinja's gettext formats every message, so a lone % would break a page.
    bad = [m.id for m in messages(template)
           for text in (m.id if m.pluralizable else [m.id])
           if any(p == "%" or not p.startswith(("%(", "%%")) for p in placeholders(text))]
    assert bad == []


def test_translations_keep_the_placeholders_of_their_source(es):
    wrong = []
    for m in messages(es):
        sources = list(m.id) if m.pluralizable else [m.id]
        for form, translated in enumerate(strings(m)):
            # Spanish: form 0 is n == 1 (the English singular), form 1 every other n (the English plural).
            source = sources[min(form, len(sources) - 1)]
            if placeholders(translated) != placeholders(source):
                wrong.append((source, translated))
    assert wrong == []


def test_spanish_catalog_compiles(es):
    errors = [(m.id, [str(e) for e in errs]) for m, errs in es.check()]
    assert errors == []
    buffer = io.BytesIO()
    write_mo(buffer, es)
    buffer.seek(0)
    compiled = Translations(fp=buffer)
    assert compiled.gettext("Question %(number)s of %(total)s") == "Pregunta %(number)s de %(total)s"
    plural = next(m for m in messages(es) if m.pluralizable)
    assert compiled.ngettext(*plural.id, 1) == plural.string[0]
    assert compiled.ngettext(*plural.id, 3) == plural.string[1]


def test_start_up_compiles_every_catalog(tmp_path):
    target = i18n.compile_catalogs(tmp_path)
    for lang in i18n.LANGUAGES[1:]:
        assert (target / lang / "LC_MESSAGES" / "messages.mo").stat().st_size > 0


def test_spanish_plurals_are_spanish_for_every_count(tmp_path, es):
    """Whatever Babel is installed (2.18+ gives Spanish a third CLDR form for millions), the compiled
    catalogue picks a Spanish form for every count."""
    mo = i18n.compile_catalogs(tmp_path) / "es" / "LC_MESSAGES" / "messages.mo"
    with mo.open("rb") as fh:
        compiled = Translations(fp=fh)
    plurals = [m for m in messages(es) if m.pluralizable]
    assert plurals
    for m in plurals:
        for n in (0, 1, 2, 3, 21, 1_000_000, 2_000_000):
            assert compiled.ngettext(*m.id, n) == m.string[0 if n == 1 else 1], (m.id, n)


def test_a_stale_compiled_catalog_is_replaced(tmp_path):
    """A .mo compiled by an earlier pro-app or Babel (newer than the .po) is not kept."""
    fresh = (i18n.compile_catalogs(tmp_path / "a") / "es" / "LC_MESSAGES" / "messages.mo").read_bytes()
    stale = tmp_path / "b" / "es" / "LC_MESSAGES" / "messages.mo"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"stale")
    i18n.compile_catalogs(tmp_path / "b")
    assert stale.read_bytes() == fresh


# --- which language a request gets ------------------------------------------------------------------------------


def page(client, url: str, **headers) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def assert_spanish_start(html: str, es_text) -> None:
    assert '<html lang="es">' in html
    assert f"<h1>{es_text['Welcome']}</h1>" in html
    assert es_text["Your code"] in html  # a lazy form label, translated at render time
    assert "Welcome" not in html


def assert_english_start(html: str) -> None:
    assert '<html lang="en">' in html
    assert "<h1>Welcome</h1>" in html
    assert "Your code" in html


def test_kiosk_in_spanish_when_asked(client, es_text):
    assert_spanish_start(page(client, "/kiosk/?lang=es"), es_text)


def test_kiosk_in_english_when_asked(client):
    assert_english_start(page(client, "/kiosk/?lang=en", **{"Accept-Language": "es"}))


def test_language_choice_is_remembered_for_the_browser(client, es_text):
    page(client, "/kiosk/?lang=es")
    assert_spanish_start(page(client, "/kiosk/"), es_text)
    # An explicit choice beats the browser's preference.
    assert_spanish_start(page(client, "/kiosk/", **{"Accept-Language": "en"}), es_text)
    page(client, "/kiosk/?lang=en")
    assert_english_start(page(client, "/kiosk/", **{"Accept-Language": "es"}))


def test_unknown_language_is_ignored(client):
    assert_english_start(page(client, "/kiosk/?lang=xx"))


@pytest.mark.parametrize("accept", ["es", "es-ES,es;q=0.9,en;q=0.5", "fr-FR,fr;q=0.9,es;q=0.8"])
def test_browser_language_when_nothing_was_chosen(client, es_text, accept):
    assert_spanish_start(page(client, "/kiosk/", **{"Accept-Language": accept}), es_text)


@pytest.mark.parametrize("accept", [None, "fr", "en-GB,en;q=0.9"])
def test_english_otherwise(client, accept):
    assert_english_start(page(client, "/kiosk/", **({"Accept-Language": accept} if accept else {})))


def test_staff_login_in_spanish(client, es_text):
    html = page(client, "/staff/login?lang=es")
    assert '<html lang="es">' in html
    assert f"<h1>{es_text['Staff login']}</h1>" in html
    for source in ("Email", "Password", "Log in"):
        assert es_text[source] in html, source
    assert "Staff login" not in html


def test_error_pages_in_spanish(client, es_text):
    response = client.get("/kiosk/no-such-page?lang=es")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert '<html lang="es">' in html
    assert es_text["This page does not exist."] in html
    assert es_text["Go to the start screen"] in html
