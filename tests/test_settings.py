"""Settings from the environment: a secret key kept in the instance folder (never a hard-coded fallback),
typed PRO_APP_* values, a SQLite default, and apps that use exactly the settings they are given."""

from __future__ import annotations

import logging
import os
import stat
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from pro_app import create_app
from pro_app.extensions import db
from pro_app.settings import Settings, SettingsError

KEY_FILE = "secret_key"
APP_ENVIRONMENT = ("DATABASE_URL", "SECRET_KEY", "PRO_APP_INSTANCE_PATH", "PRO_APP_INSTRUMENTS_DIR",
                   "PRO_APP_SECURE_COOKIES", "PRO_APP_KIOSK_IDLE_SECONDS")


@pytest.fixture
def clean_environment(monkeypatch):
    """No pro-app variables in os.environ, whatever the machine running the tests has set."""
    for name in APP_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_secret_key_one_is_generated_into_the_instance_folder_readable_only_by_the_owner(tmp_path):
    instance = tmp_path / "instance"
    settings = Settings.from_env(instance, environ={})

    key_file = instance / KEY_FILE
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert settings.secret_key == key_file.read_text().strip()
    assert len(settings.secret_key) >= 32


def test_the_generated_key_is_reused_by_the_next_start_on_the_same_folder(tmp_path):
    first = Settings.from_env(tmp_path / "instance", environ={})
    second = Settings.from_env(tmp_path / "instance", environ={})
    assert second.secret_key == first.secret_key


def test_each_instance_folder_gets_its_own_key(tmp_path):
    one = Settings.from_env(tmp_path / "site-a", environ={})
    other = Settings.from_env(tmp_path / "site-b", environ={})
    assert one.secret_key != other.secret_key


def test_secret_key_in_the_environment_wins_and_nothing_is_written(tmp_path):
    instance = tmp_path / "instance"
    settings = Settings.from_env(instance, environ={"SECRET_KEY": "from-the-environment-" + "x" * 32})
    assert settings.secret_key == "from-the-environment-" + "x" * 32
    assert not (instance / KEY_FILE).exists()


def test_secret_key_in_the_environment_wins_over_a_kept_key(tmp_path):
    kept = Settings.from_env(tmp_path / "instance", environ={}).secret_key
    settings = Settings.from_env(tmp_path / "instance", environ={"SECRET_KEY": "env-key-" + "y" * 32})
    assert settings.secret_key == "env-key-" + "y" * 32 != kept


def test_an_empty_key_file_is_never_used_as_the_secret_key(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / KEY_FILE).write_text("")
    (instance / KEY_FILE).chmod(0o600)
    try:
        settings = Settings.from_env(instance, environ={})
    except (OSError, RuntimeError, ValueError):
        return  # refusing to start with a clear error is correct too
    assert len(settings.secret_key) >= 32


def test_database_url_defaults_to_a_sqlite_file_in_the_instance_folder(tmp_path):
    instance = tmp_path / "instance"
    url = make_url(Settings.from_env(instance, environ={}).database_url)
    assert url.get_backend_name() == "sqlite"
    assert url.database and url.database.endswith(".sqlite3")
    assert Path(url.database).resolve().parent == instance.resolve()


def test_database_url_and_instance_path_come_from_the_environment(tmp_path):
    environ = {"DATABASE_URL": "postgresql+psycopg://pro@db.example.org/pro_app",
               "PRO_APP_INSTANCE_PATH": str(tmp_path / "elsewhere")}
    settings = Settings.from_env(tmp_path / "ignored", environ=environ)
    assert settings.database_url == "postgresql+psycopg://pro@db.example.org/pro_app"
    assert settings.instance_path == tmp_path / "elsewhere"
    assert (tmp_path / "elsewhere" / KEY_FILE).is_file()
    assert not (tmp_path / "ignored").exists()


def test_integer_settings_are_parsed_as_integers(tmp_path):
    settings = Settings.from_env(tmp_path, environ={"PRO_APP_KIOSK_IDLE_SECONDS": "120"}, secret_key="k")
    assert settings.kiosk_idle_seconds == 120
    assert type(settings.kiosk_idle_seconds) is int
    assert Settings.from_env(tmp_path, environ={}, secret_key="k").kiosk_idle_seconds == 300  # the default


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("yes", True), ("0", False),
                                               ("false", False)])
def test_boolean_settings_are_parsed_as_booleans(tmp_path, raw, expected):
    settings = Settings.from_env(tmp_path, environ={"PRO_APP_SECURE_COOKIES": raw}, secret_key="k")
    assert settings.secure_cookies is expected


def test_secure_cookies_setting_makes_the_session_cookie_secure(tmp_path):
    environ = {"PRO_APP_SECURE_COOKIES": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    app = create_app(Settings.from_env(tmp_path / "instance", environ=environ))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/kiosk/")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie

    plain = create_app(Settings.from_env(tmp_path / "instance", environ={**environ, "PRO_APP_SECURE_COOKIES": "0"}))
    assert plain.config["SESSION_COOKIE_SECURE"] is False


def test_create_app_uses_exactly_the_settings_it_is_given(tmp_path, clean_environment):
    clean_environment.setenv("SECRET_KEY", "not-this-one-" + "z" * 32)
    clean_environment.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'not-this.sqlite3'}")
    clean_environment.setenv("PRO_APP_KIOSK_IDLE_SECONDS", "5")
    settings = Settings.from_env(tmp_path / "instance", environ={}, secret_key="given-" + uuid.uuid4().hex,
                                 database_url=f"sqlite:///{tmp_path / 'given.sqlite3'}", kiosk_idle_seconds=240)

    app = create_app(settings)

    assert app.config["SETTINGS"] is settings
    assert app.config["SECRET_KEY"] == settings.secret_key
    assert app.config["SQLALCHEMY_DATABASE_URI"] == settings.database_url
    assert app.config["SETTINGS"].kiosk_idle_seconds == 240
    assert app.instance_path == str(tmp_path / "instance")
    with app.app_context():
        assert db.engine.url.database == str(tmp_path / "given.sqlite3")


def test_two_apps_from_two_settings_share_no_configuration(tmp_path):
    def settings_for(name: str, **changes) -> Settings:
        return Settings.from_env(tmp_path / name, environ={}, database_url=f"sqlite:///{tmp_path / name}.sqlite3",
                                 **changes)

    first = create_app(settings_for("one", secure_cookies=True, kiosk_idle_seconds=60))
    second = create_app(settings_for("two"))

    assert first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    assert first.config["SQLALCHEMY_DATABASE_URI"] != second.config["SQLALCHEMY_DATABASE_URI"]
    assert (first.config["SESSION_COOKIE_SECURE"], second.config["SESSION_COOKIE_SECURE"]) == (True, False)
    assert (first.config["SETTINGS"].kiosk_idle_seconds, second.config["SETTINGS"].kiosk_idle_seconds) == (60, 300)
    first.config["SOMETHING_TEST_ONLY"] = "first"
    assert "SOMETHING_TEST_ONLY" not in second.config
    with first.app_context():
        first_db = db.engine.url.database
    with second.app_context():
        second_db = db.engine.url.database
    assert (first_db, second_db) == (str(tmp_path / "one.sqlite3"), str(tmp_path / "two.sqlite3"))


def test_create_app_without_settings_reads_the_environment(tmp_path, clean_environment):
    clean_environment.setenv("PRO_APP_INSTANCE_PATH", str(tmp_path / "instance"))
    clean_environment.setenv("PRO_APP_KIOSK_IDLE_SECONDS", "120")
    app = create_app()
    settings = app.config["SETTINGS"]
    assert settings.kiosk_idle_seconds == 120
    assert app.config["SECRET_KEY"] == (tmp_path / "instance" / KEY_FILE).read_text().strip()
    with app.app_context():
        assert db.engine.url.database == str(tmp_path / "instance" / "pro_app.sqlite3")


def test_a_relative_instance_path_keeps_the_database_in_that_folder(tmp_path, clean_environment):
    clean_environment.chdir(tmp_path)
    clean_environment.setenv("PRO_APP_INSTANCE_PATH", "instance")
    app = create_app()
    with app.app_context():
        database = db.engine.url.database  # the engine is not connected: nothing is created
    assert (tmp_path / "instance" / KEY_FILE).is_file()
    assert Path(database).resolve() == (tmp_path / "instance" / "pro_app.sqlite3").resolve()
    assert Path(app.instance_path).resolve() == (tmp_path / "instance").resolve()


# Safer defaults: a short SECRET_KEY, HSTS, private files.

def _sqlite_settings(tmp_path, **changes) -> Settings:
    return Settings.from_env(tmp_path / "instance", environ={}, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                             **changes)


@pytest.mark.parametrize("key", ["k", "short-secret", "x" * 31, "é" * 15])
def test_a_secret_key_shorter_than_32_bytes_is_refused_at_start_up(tmp_path, key):
    with pytest.raises(SettingsError, match=r"SECRET_KEY is \d+ bytes long; at least 32"):
        create_app(_sqlite_settings(tmp_path, secret_key=key))


def test_a_secret_key_from_the_environment_shorter_than_32_bytes_is_refused(tmp_path, clean_environment):
    clean_environment.setenv("PRO_APP_INSTANCE_PATH", str(tmp_path / "instance"))
    clean_environment.setenv("SECRET_KEY", "changeme")
    with pytest.raises(SettingsError, match="SECRET_KEY is 8 bytes long"):
        create_app()


def test_a_32_byte_secret_key_and_the_generated_one_are_accepted(tmp_path):
    assert create_app(_sqlite_settings(tmp_path, secret_key="é" * 16)).config["SECRET_KEY"] == "é" * 16
    assert create_app(Settings.from_env(tmp_path / "other", environ={})).config["SECRET_KEY"]


HSTS = "max-age=31536000; includeSubDomains"


def test_with_secure_cookies_every_response_tells_browsers_to_use_https_only(tmp_path):
    client = create_app(_sqlite_settings(tmp_path, secure_cookies=True)).test_client()
    for path in ("/kiosk/", "/staff/login", "/no-such-page", "/"):
        response = client.get(path)
        assert response.headers.get("Strict-Transport-Security") == HSTS, (path, response.status_code)


def test_without_secure_cookies_no_hsts_header_is_sent(tmp_path):
    client = create_app(_sqlite_settings(tmp_path)).test_client()
    for path in ("/kiosk/", "/no-such-page"):
        assert "Strict-Transport-Security" not in client.get(path).headers


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """A service started with a permissive umask (022 is the usual default)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_the_instance_folder_and_the_sqlite_files_are_created_private_to_the_service_user(tmp_path, open_umask):
    app = create_app(Settings.from_env(tmp_path / "instance", environ={}))
    database = tmp_path / "instance" / "pro_app.sqlite3"
    with app.app_context():
        db.create_all()
        with db.engine.connect() as conn:  # a write leaves the -wal and -shm files next to the database
            conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
            wal, shm = database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")
            assert wal.exists() and shm.exists()
            assert (_mode(database), _mode(wal), _mode(shm)) == (0o600, 0o600, 0o600)
        db.engine.dispose()
    assert _mode(tmp_path / "instance") == 0o700
    assert _mode(tmp_path / "instance" / KEY_FILE) == 0o600


def test_an_instance_folder_created_by_create_app_with_a_given_key_is_private(tmp_path, open_umask):
    create_app(_sqlite_settings(tmp_path, secret_key="given-" + uuid.uuid4().hex))
    assert _mode(tmp_path / "instance") == 0o700
    assert _mode(tmp_path / "db.sqlite3") == 0o600


def test_start_up_warns_when_the_database_or_the_instance_folder_is_readable_by_others(tmp_path, caplog):
    create_app(_sqlite_settings(tmp_path, secret_key="given-" + uuid.uuid4().hex))
    (tmp_path / "db.sqlite3").chmod(0o644)
    (tmp_path / "instance").chmod(0o755)

    with caplog.at_level(logging.WARNING, logger="pro_app.security.files"):
        create_app(_sqlite_settings(tmp_path, secret_key="given-" + uuid.uuid4().hex))

    warned = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert f"{tmp_path / 'db.sqlite3'} has mode 0644" in warned
    assert f"{tmp_path / 'instance'} has mode 0755" in warned
    assert _mode(tmp_path / "db.sqlite3") == 0o644  # the site's choice is reported, not silently changed


def test_no_warning_when_the_files_are_private(tmp_path, caplog):
    create_app(_sqlite_settings(tmp_path, secret_key="given-" + uuid.uuid4().hex))
    with caplog.at_level(logging.WARNING, logger="pro_app.security.files"):
        create_app(_sqlite_settings(tmp_path, secret_key="given-" + uuid.uuid4().hex))
    assert not [r for r in caplog.records if r.name == "pro_app.security.files"]
