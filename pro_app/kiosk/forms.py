"""Kiosk forms, and the radio buttons of an item page, built from the instrument definition through its item type."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, RadioField, SelectChoice, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from ..i18n import LANGUAGES
from ..instruments import Item


class StartForm(FlaskForm):
    code = StringField(_l("Your code"), validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})
    # The language the patient picked on this start screen (empty: none picked, the registered one is used).
    language = HiddenField(validators=[Optional(), AnyOf(LANGUAGES)])


class ConfirmForm(FlaskForm):
    """A button that needs nothing but the CSRF token (skip confirmation, continue, submit, timeout)."""


#: The three text sizes, each a root size in the stylesheet (app.css, `:root.text-…`); every patient page shows
#: them as buttons (kiosk/patient.html) that send TextSizeForm.
TEXT_SIZES = (SelectChoice("normal", _l("Normal text")), SelectChoice("large", _l("Large text")),
              SelectChoice("larger", _l("Largest text")))


class TextSizeForm(FlaskForm):
    """The patient's text size: one of TEXT_SIZES."""

    size = RadioField(_l("Text size"), choices=list(TEXT_SIZES), validate_choice=True)


class ExitForm(FlaskForm):
    email = EmailField(_l("Staff email"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    password = PasswordField(_l("Staff password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "off"})


@dataclass(frozen=True)
class Option:
    """One radio button of an item's page: the posted key, its label, and the input's id."""

    key: str
    label: str
    id: str


def item_options(item: Item, lang: str) -> tuple[Option, ...]:
    """The item's radio buttons in the given language: one per choice of the item's type
    (instruments/item_types.py). A `scale` layout shows the bare numbers; its end texts are the item's anchors,
    which the page shows beside the row. The page renders them itself (kiosk/item.html): the answer is read
    by the item's type (`Item.parse`) and the CSRF token by CSRFProtect, so no form object is built (a WTForms
    form class made per item and request was a fifth of an answer's Python function calls)."""
    scale = item.type.layout == "scale"
    return tuple(Option(c.key, str(c.value) if scale and c.value is not None else c.label, f"choice-{n}")
                 for n, c in enumerate(item.choices(lang)))
