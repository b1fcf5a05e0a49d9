"""The Flask application factory: settings, extensions, blueprints, the transaction wrapper."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, redirect, url_for
from werkzeug.routing import IntegerConverter

from . import errors, i18n, transactions
from .alerts import notify
from .alerts.views import bp as alerts_bp
from .api.views import bp as api_bp
from .assessments.views import bp as assessments_bp
from .audit.views import bp as audit_bp
from .auth.views import bp as auth_bp
from .database import configure_sqlite
from .extensions import babel, csrf, db, library, migrate
from .kiosk.staff import bp as tablets_bp
from .kiosk.views import bp as kiosk_bp
from .participants.views import bp as participants_bp
from .reports.views import bp as reports_bp
from .results.views import bp as results_bp
from .security import files, headers, inputs
from .security.files import private_folder
from .settings import Settings, check_secret_key
from .studies.views import bp as studies_bp
from .tokens.views import bp as tokens_bp
from .users.views import bp as users_bp
from .web import navigation
from .worklist.views import bp as worklist_bp

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: The patient's tablet, each staff feature (one folder each: views, forms, services), and the analysts' API.
BLUEPRINTS = (kiosk_bp, auth_bp, worklist_bp, studies_bp, participants_bp, assessments_bp, alerts_bp, reports_bp,
              results_bp, tablets_bp, users_bp, audit_bp, tokens_bp, api_bp)


class RowId(IntegerConverter):
    """`<int:…>` in every route: a row id the databases can hold (PostgreSQL's integer; SQLite's is wider). A
    larger number matches no route, so it is a 404 like any id that does not exist, never an overflow."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _private_sqlite_files(database: str | None) -> None:
    """A new database file is created 0600 before SQLite opens it (its -wal and -shm files follow its mode);
    an existing one that others can read is warned about."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).resolve()
    files.private_file(path)
    files.warn_if_shared(*files.sqlite_files(path))


def create_app(settings: Settings | None = None) -> Flask:
    """Build a fresh application from explicit settings (default: read from the environment)."""
    if settings is None:
        # Flask's default instance folder, unless PRO_APP_INSTANCE_PATH names another: settings decide.
        settings = Settings.from_env(Flask(__package__).instance_path)
    check_secret_key(settings.secret_key)
    app = Flask(__package__, instance_path=str(settings.instance_path))
    app.url_map.converters["int"] = RowId  # before any route is added
    private_folder(settings.instance_path)
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
    notify.install(app)  # checks the SMTP settings: a relay that cannot be used stops start-up here
    library.init_app(app, settings.instruments_dir)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _private_sqlite_files(db.engine.url.database)
            configure_sqlite(db.engine)
    files.warn_if_shared(settings.instance_path)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    inputs.install(app, inputs.allowed_hosts(settings.server_name, settings.allowed_hosts))  # before every other check
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.install(app)
    navigation.install(app)
    headers.install(app)
    errors.install(app)

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

    @app.get("/")
    def index():
        return redirect(url_for("kiosk.start"))

    transactions.install(app)  # last: it wraps every view registered above
    return app
