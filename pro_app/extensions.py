"""Flask extensions, created unbound; `create_app` binds them."""

from __future__ import annotations

import os

from flask import Flask, current_app
from flask_babel import Babel
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .instruments import Instrument, Registry, build_registry, bundled_dir

# Stable constraint names, so migrations can name what they alter.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
csrf = CSRFProtect()


class InstrumentLibrary:
    """The instruments in use by an app: the bundled definitions and a site's folder (its settings'
    `instruments_dir`), loaded and checked once when the app is built, so every request and each test app
    has its own, and a bad licensed file stops the start-up with its error."""

    KEY = "pro_app.instruments"

    def init_app(self, app: Flask, folder: str | os.PathLike | None) -> None:
        app.extensions[self.KEY] = build_registry(bundled_dir(), folder)

    @property
    def registry(self) -> Registry:
        return current_app.extensions[self.KEY]

    def get(self, instrument_id: str) -> Instrument:
        return self.registry.get(instrument_id)

    def selectable(self) -> tuple[Instrument, ...]:
        """The instruments whose terms a study picks (PRO-CTCAE's term sets)."""
        return tuple(i for i in self.registry if i.selectable)


library = InstrumentLibrary()
