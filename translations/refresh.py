"""Refresh the message catalogues after interface strings changed: extract translations/messages.pot from the
sources, then update translations/es/LC_MESSAGES/messages.po from it (new messages untranslated, dropped ones
removed). Run from the repository root: `python translations/refresh.py`.

`pybabel update` would take Spanish's plural rule from the installed Babel, which from 2.18 has a third form
the catalogue does not hold; this uses the catalogue's own rule (pro_app/i18n.py PLURAL_FORMS) instead.
tests/test_i18n.py fails when the catalogues are stale or a Spanish string is missing.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from pro_app.i18n import LANGUAGES, read_catalog

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "translations" / "messages.pot"


def extract() -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "pyproject.toml", "-k", "_l",
                    "-o", str(TEMPLATE), "--no-location", "--sort-output", "--omit-header", "pro_app"],
                   cwd=ROOT, check=True)


def update(lang: str) -> None:
    with TEMPLATE.open("rb") as fh:
        template = read_po(fh)
    catalog = read_catalog(lang)
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    out = io.BytesIO()
    write_po(out, catalog, omit_header=True, sort_output=True, width=76)
    (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").write_bytes(out.getvalue())


if __name__ == "__main__":
    extract()
    for language in LANGUAGES[1:]:
        update(language)
