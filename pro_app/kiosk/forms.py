"""Kiosk forms. The item form is built from the instrument definition through a registry of item types."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..instruments import Item


class StartForm(FlaskForm):
    code = StringField(_l("Your code"), validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})


class ConfirmForm(FlaskForm):
    """A button that needs nothing but the CSRF token (skip confirmation, continue, submit, timeout)."""


class ExitForm(FlaskForm):
    email = EmailField(_l("Staff email"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    password = PasswordField(_l("Staff password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "off"})


class SingleChoice:
    """An item answered by choosing one option of its option set (every bundled item is of this type)."""

    def field(self, item: Item, lang: str) -> RadioField:
        choices = [
            SelectChoice(str(o.value) if o.value is not None else o.code, o.label.get(lang))
            for o in item.option_set.options
        ]
        return RadioField(item.text.get(lang), choices=choices, validators=[Optional()], validate_choice=True)


ITEM_TYPES = {"single_choice": SingleChoice()}


def item_form(item: Item, lang: str, **kwargs) -> FlaskForm:
    """A form with one field, `choice`, for the item in the given language."""
    field = ITEM_TYPES["single_choice"].field(item, lang)
    form_class = type("ItemForm", (FlaskForm,), {"choice": field})
    return form_class(**kwargs)
