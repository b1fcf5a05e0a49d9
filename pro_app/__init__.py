"""pro-app: electronic patient-reported outcomes for oncology trials."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, redirect, url_for

from . import errors, i18n
from .api.views import bp as api_bp
from .coordinator import bp as coordinator_bp
from .database import configure_sqlite
from .extensions import babel, csrf, db, migrate
from .kiosk.views import bp as kiosk_bp
from .security import headers
from .settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None) -> Flask:
    """Build a fresh application from explicit settings (default: read from the environment)."""
    if settings is None:
        # Flask's default instance folder, unless PRO_APP_INSTANCE_PATH names another: settings decide.
        settings = Settings.from_env(Flask(__name__).instance_path)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SESSION_COOKIE_NAME="pro_app",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        WTF_CSRF_TIME_LIMIT=3600,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(i18n.compile_catalogs(settings.instance_path / "translations")),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.install(app)
    headers.install(app)
    errors.install(app)

    app.register_blueprint(kiosk_bp)
    app.register_blueprint(coordinator_bp)
    app.register_blueprint(api_bp)

    @app.get("/")
    def index():
        return redirect(url_for("kiosk.start"))

    return app
