"""Kiosk forms. The item form is built from the instrument definition through its item type."""

from __future__ import annotations

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


class TextSizeForm(FlaskForm):
    """The patient's text size: one of three, each a root size in the stylesheet (app.css, `:root.text-…`)."""

    size = RadioField(_l("Text size"), choices=[SelectChoice("normal", _l("Normal text")),
                                                SelectChoice("large", _l("Large text")),
                                                SelectChoice("larger", _l("Largest text"))], validate_choice=True)


class ExitForm(FlaskForm):
    email = EmailField(_l("Staff email"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    password = PasswordField(_l("Staff password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "off"})


def item_form(item: Item, lang: str, **kwargs) -> FlaskForm:
    """A form with one field, `choice`, for the item in the given language: one radio button per choice of
    the item's type (instruments/item_types.py). A `scale` layout shows the bare numbers; its end texts are
    the item's anchors, which the page shows beside the row."""
    scale = item.type.layout == "scale"
    choices = [SelectChoice(c.key, str(c.value) if scale and c.value is not None else c.label)
               for c in item.choices(lang)]
    field = RadioField(item.text.get(lang), choices=choices, validators=[Optional()], validate_choice=True)
    form_class = type("ItemForm", (FlaskForm,), {"choice": field})
    return form_class(**kwargs)
