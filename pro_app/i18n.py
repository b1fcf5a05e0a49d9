"""Interface languages: which one a request gets, and the compiled catalogs Flask-Babel reads.

Locale precedence (first that applies): `?lang=` on the request (remembered for the browser), the
language remembered for this browser, the participant's preferred language in a patient session,
the browser's Accept-Language, English. English is the source language; Spanish must be complete.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileParser
from flask import Flask, g, request, session
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l

LANGUAGES = ("en", "es")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}

NOT_DONE_LABELS = {
    "patient_refused": _l("Patient refused"),
    "too_ill": _l("Too ill"),
    "staff_error": _l("Staff or scheduling error"),
    "outside_window": _l("Outside the window"),
    "device_failure": _l("Device failure"),
    "other": _l("Other reason"),
}

ITEM_STATE_LABELS = {
    "answered": _l("Answered"),
    "declined": _l("Declined"),
    "branched": _l("Skipped by branching"),
    "not_applicable": _l("Not applicable"),
    "not_reached": _l("Not reached"),
}

SCORE_STATUS_LABELS = {
    "scored": _l("Scored"),
    "insufficient": _l("Too few answers"),
    "not_applicable": _l("Not applicable"),
}

MODE_LABELS = {"self": _l("Tablet"), "assisted": _l("Assisted"), "paper": _l("Paper")}

ALERT_KIND_LABELS = {
    "proctcae_grade3": _l("Severe symptom (PRO-CTCAE grade 3)"),
    "proctcae_item4": _l("Highest answer on a PRO-CTCAE item"),
    "threshold": _l("QLQ-C30 score past the threshold for clinical importance"),
}

STATUS_LABELS = {
    "scheduled": _l("Scheduled"),
    "open": _l("Window open"),
    "in_progress": _l("In progress"),
    "completed": _l("Completed"),
    "missed": _l("Missed"),
    "not_done": _l("Not done"),
}


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


def compile_catalogs(target: Path) -> Path:
    """Compile every translations/<lang>/LC_MESSAGES/messages.po into `target`, replacing a compiled file
    only when its bytes differ (a new catalogue, or one compiled by an earlier version of pro-app or Babel).

    Compiled .mo files are build products and are not kept in the repository.
    """
    for lang in LANGUAGES[1:]:
        buffer = io.BytesIO()
        write_mo(buffer, read_catalog(lang))
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


def select_locale() -> str:
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


def install(app: Flask) -> None:
    @app.context_processor
    def _languages():
        current = str(get_locale() or "en")
        return {"lang": current, "language_names": LANGUAGE_NAMES, "languages": LANGUAGES,
                "status_labels": STATUS_LABELS, "format_date": format_date}
