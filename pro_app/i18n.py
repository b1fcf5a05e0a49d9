"""Interface languages: which one a request gets, and the compiled catalogs Flask-Babel reads.

Locale precedence (first that applies): `?lang=` on the request (remembered for the browser), the
language remembered for this browser, the participant's preferred language in a patient session,
the browser's Accept-Language, English. English is the source language; Spanish must be complete.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
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


def compile_catalogs(target: Path) -> Path:
    """Compile every translations/<lang>/LC_MESSAGES/messages.po into `target` (only when changed).

    Compiled .mo files are build products and are not kept in the repository.
    """
    source = translations_dir()
    for lang in LANGUAGES[1:]:
        po = source / lang / "LC_MESSAGES" / "messages.po"
        if not po.is_file():
            raise RuntimeError(f"no message catalog for configured language {lang!r}: {po}")
        mo = target / lang / "LC_MESSAGES" / "messages.mo"
        if mo.is_file() and mo.stat().st_mtime_ns >= po.stat().st_mtime_ns:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        handle, temporary = tempfile.mkstemp(dir=mo.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            write_mo(out, catalog)
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
