"""Interface languages: which one a request gets, and the compiled catalogs Flask-Babel reads.

Locale precedence (first that applies): `?lang=` on the request (remembered for the browser), the
language remembered for this browser, the participant's preferred language in a patient session,
the browser's Accept-Language, English. English is the source language; Spanish must be complete.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileParser
from flask import Flask, g, has_request_context, request, session
from flask_babel import format_date, get_locale

from .vocabulary import STATUS_LABELS

LANGUAGES = ("en", "es")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


def translations_dir() -> Path:
    """The .po catalogs: installed copy inside the package, else the source tree."""
    here = Path(__file__).resolve().parent
    installed = here / "translations"
    return installed if installed.is_dir() else here.parent / "translations"


#: The catalogues' plural rules, fixed here rather than taken from the installed Babel's locale data: from
#: Babel 2.18 (CLDR 46) Spanish has a third form, for whole millions, which the catalogue does not hold, so
#: every plural message for more than one thing came out in English. The catalogue keeps the two gettext forms.
PLURAL_FORMS = {"es": "nplurals=2; plural=(n != 1);"}


def read_catalog(lang: str) -> Catalog:
    """translations/<lang>/LC_MESSAGES/messages.po, with the plural rule of PLURAL_FORMS."""
    po = translations_dir() / lang / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        raise RuntimeError(f"no message catalog for configured language {lang!r}: {po}")
    catalog = Catalog(locale=lang)
    catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS[lang])]  # before reading: it sets the forms per message
    with po.open("rb") as fh:
        PoFileParser(catalog).parse(fh)
    return catalog


class CatalogMarkupError(RuntimeError):
    """A translation holds markup its English message does not: refused, since templates trust the catalogue."""


def check_markup(lang: str, catalog: Catalog) -> None:
    """Refuse a translation with more `<` or `>` than its message id (an `<img onerror>` would run on pages)."""
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for char in "<>":
            allowed = max(text.count(char) for text in ids)
            if any((text or "").count(char) > allowed for text in strings):
                raise CatalogMarkupError(f"the {lang} catalogue adds markup ({char!r}) to the message {ids[0]!r}: "
                                         f"{strings!r}")


def compile_catalogs(target: Path) -> Path:
    """Compile every translations/<lang>/LC_MESSAGES/messages.po into `target`, replacing a compiled file
    only when its bytes differ (a new catalogue, or one compiled by an earlier version of pro-app or Babel).

    Compiled .mo files are build products and are not kept in the repository. A catalogue whose translation
    adds markup is refused (CatalogMarkupError), which stops start-up.
    """
    for lang in LANGUAGES[1:]:
        catalog = read_catalog(lang)
        check_markup(lang, catalog)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        compiled = buffer.getvalue()
        mo = target / lang / "LC_MESSAGES" / "messages.mo"
        if mo.is_file() and mo.read_bytes() == compiled:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=mo.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(compiled)
        os.replace(temporary, mo)
    return target


def current_language() -> str:
    """The language of this request's pages ("en" or "es"), as select_locale decided it."""
    return str(get_locale() or "en")


def select_locale() -> str:
    if not has_request_context():  # the command line: messages in the source language
        return "en"
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    preferred = getattr(g, "patient_language", None)
    if preferred in LANGUAGES:
        return preferred
    return request.accept_languages.best_match(LANGUAGES) or "en"


class _StatusLabels(Mapping):
    """The status labels in the page's language, translated when the page first uses one: once per page, not
    once per row of a long table, and not at all on the many pages that show none (every tablet page)."""

    def __init__(self):
        self._labels: dict[str, str] | None = None

    def _translated(self) -> dict[str, str]:
        if self._labels is None:
            self._labels = {k: str(v) for k, v in STATUS_LABELS.items()}
        return self._labels

    def __getitem__(self, status: str) -> str:
        return self._translated()[status]

    def __iter__(self):
        return iter(STATUS_LABELS)

    def __len__(self) -> int:
        return len(STATUS_LABELS)


def install(app: Flask) -> None:
    @app.context_processor
    def _languages():
        current = current_language()
        return {"lang": current, "language_names": LANGUAGE_NAMES, "languages": LANGUAGES,
                "status_labels": _StatusLabels(), "format_date": format_date}
