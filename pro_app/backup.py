"""`pro-app backup` and `pro-app restore`: one file holding the database and a manifest that says what it is.

The file is a tar archive of two members:

- `manifest.json`: the pro-app version, the database's migration revision, the instrument definitions in use
  (id, version, file name and SHA-256 of the file), a fingerprint of the SECRET_KEY (a truncated hash, never
  the key), the row count of every table and the SHA-256 of the database member;
- the database: a SQLite file made with SQLite's online backup API, or a `pg_dump --format=custom` file.

Both are one consistent snapshot while patients keep answering: the SQLite backup copies every page in one
step under one read transaction (WAL: writers go on), and on PostgreSQL the manifest's counts and `pg_dump`
read the same exported snapshot. A restore goes only into an empty database of the same kind, checks the
migration revision against this pro-app's migrations, warns when the SECRET_KEY differs, and then checks
every table's row count against the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from .clock import utcnow
from .extensions import db, library
from .security.files import FILE_MODE, private_file

FORMAT = "pro-app backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
#: what a refusal exits with (as a usage error): nothing was changed
REFUSED = 2


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Restored:
    manifest: dict
    warnings: list[str] = field(default_factory=list)


def key_fingerprint(key: str) -> str:
    """Enough to tell two keys apart, nothing that helps to find one."""
    return "sha256:" + hashlib.sha256(b"pro-app secret key fingerprint\0" + key.encode("utf-8")).hexdigest()[:16]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pro_app_version() -> str:
    try:
        return metadata.version("pro-app")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout that is not installed
        return "unknown"


def _instruments() -> list[dict]:
    out = []
    for instrument in library.registry:
        source = Path(instrument.source)
        out.append({"id": instrument.id, "version": instrument.version, "file": source.name,
                    "sha256": _sha256(source) if source.is_file() else None})
    return out


def _migrations() -> ScriptDirectory:
    from .app import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def _tables(connection) -> list[str]:
    """Every table of the database (the app's and alembic_version), in name order."""
    return sorted(inspect(connection).get_table_names())


def _counts(connection) -> dict[str, int]:
    quote = connection.dialect.identifier_preparer.quote
    return {t: connection.execute(text(f"SELECT count(*) FROM {quote(t)}")).scalar_one() for t in _tables(connection)}


def _revision(connection) -> str | None:
    if "alembic_version" not in _tables(connection):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _manifest(dialect: str, revision: str | None, counts: dict[str, int]) -> dict:
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "pro_app_version": _pro_app_version(),
        "created_at": utcnow().isoformat(timespec="seconds"), "database": dialect, "migration": revision,
        "migration_heads": list(_migrations().get_heads()),
        "secret_key_fingerprint": key_fingerprint(current_app.config["SECRET_KEY"]),
        "instruments": _instruments(), "tables": counts,
    }


# --- libpq tools --------------------------------------------------------------------------------------------


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password (it goes in PGPASSWORD: never on a command line)."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} was not found: install the PostgreSQL client tools (the server's major version "
                          "or newer), e.g. apt install postgresql-client")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise BackupError(f"{tool} failed (exit {done.returncode}): {done.stderr.strip()}")


# --- backup -------------------------------------------------------------------------------------------------


def _backup_sqlite(engine: Engine, into: Path) -> dict:
    source = sqlite3.connect(engine.url.database)
    target = sqlite3.connect(into)
    try:
        # pages=-1: every page in one step, under one read transaction: one consistent snapshot, and in WAL mode
        # the patients' writes go on meanwhile (a step-by-step copy would restart whenever one of them commits).
        source.execute(f"PRAGMA busy_timeout={10000}")
        source.backup(target, pages=-1)
    finally:
        source.close()
    try:
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        problems = [row[0] for row in target.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError("the copy fails SQLite's integrity check: " + "; ".join(problems[:5]))
    finally:
        target.close()
    copy = create_engine(f"sqlite:///{into}")
    try:
        with copy.connect() as connection:
            return _manifest("sqlite", _revision(connection), _counts(connection))
    finally:
        copy.dispose()


def _backup_postgresql(engine: Engine, into: Path) -> dict:
    conninfo, env = _libpq(engine)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            # The counts and pg_dump read the same snapshot, so the manifest describes exactly what is dumped.
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            manifest = _manifest("postgresql", _revision(connection), _counts(connection))
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  "--file", str(into), "--dbname", conninfo], env)
    return manifest


def create(output: Path) -> dict:
    """Write a backup of the app's database to `output` (replaced atomically, private to the service user)."""
    engine = db.engine
    dialect = engine.dialect.name
    if dialect not in MEMBERS:
        raise BackupError(f"backups of {dialect} databases are not supported (SQLite and PostgreSQL are)")
    db.session.remove()
    output = output.resolve()
    if not output.parent.is_dir():
        raise BackupError(f"the folder {output.parent} does not exist", REFUSED)
    with tempfile.TemporaryDirectory(prefix=".pro-app-backup-", dir=output.parent) as work:
        member = Path(work) / MEMBERS[dialect]
        manifest = (_backup_sqlite if dialect == "sqlite" else _backup_postgresql)(engine, member)
        manifest["file"], manifest["sha256"] = member.name, _sha256(member)
        archive = Path(work) / "backup.tar"
        private_file(archive)
        with tarfile.open(archive, "w") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), FILE_MODE, int(utcnow().timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(member, arcname=member.name, filter=_private_member)
        os.chmod(archive, FILE_MODE)
        os.replace(archive, output)
    return manifest


def _private_member(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = FILE_MODE, 0, 0, "", ""
    return info


# --- restore ------------------------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict:
    try:
        with tarfile.open(path, "r") as tar:
            manifest = json.load(tar.extractfile(MANIFEST))
    except (OSError, tarfile.TarError, KeyError, ValueError, TypeError) as exc:
        raise BackupError(f"{path} is not a pro-app backup ({exc})", REFUSED) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a pro-app backup (no pro-app manifest)", REFUSED)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{path} is a backup of format {manifest.get('format_version')}; this pro-app reads "
                          f"format {FORMAT_VERSION}: restore it with the pro-app version that made it "
                          f"({manifest.get('pro_app_version')})", REFUSED)
    return manifest


def _check_migration(manifest: dict) -> list[str]:
    revision, scripts = manifest.get("migration"), _migrations()
    if revision is None:
        raise BackupError("the backup's database has no migration revision (it was never upgraded by pro-app): "
                          "it cannot be checked against this pro-app", REFUSED)
    heads = scripts.get_heads()
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise BackupError(f"the backup's database is at migration {revision}, which this pro-app does not know "
                          f"(its head is {', '.join(heads)}): it was made by a newer pro-app "
                          f"({manifest.get('pro_app_version')}); restore it with that version", REFUSED)
    if revision not in heads:
        return [f"the backup's database is at migration {revision}, older than this pro-app's "
                f"{', '.join(heads)}: run `pro-app db upgrade` (pro-app serve does it) after the restore"]
    return []


def _refuse_unless_empty(engine: Engine) -> None:
    with engine.connect() as connection:
        tables = _tables(connection)
    if tables:
        where = engine.url.render_as_string(hide_password=True)
        raise BackupError(f"the database {where} is not empty ({len(tables)} tables, e.g. {', '.join(tables[:3])}): "
                          "restore only into an empty database. Create a new one (or move this one aside) and "
                          "point DATABASE_URL at it.", REFUSED)


def restore(path: Path) -> Restored:
    """Restore the backup at `path` into the app's database, which must be empty and of the same kind."""
    manifest = read_manifest(path)
    engine = db.engine
    dialect = engine.dialect.name
    if manifest.get("database") != dialect or manifest.get("file") != MEMBERS.get(dialect):
        raise BackupError(f"the backup holds a {manifest.get('database')} database; this installation uses "
                          f"{dialect}: restore it into a {manifest.get('database')} database", REFUSED)
    warnings = _check_migration(manifest)
    db.session.remove()
    _refuse_unless_empty(engine)
    ours = key_fingerprint(current_app.config["SECRET_KEY"])
    if manifest.get("secret_key_fingerprint") != ours:
        warnings.append(f"the backup was made with another SECRET_KEY (fingerprint "
                        f"{manifest.get('secret_key_fingerprint')}, this installation {ours}): sessions and forms "
                        "signed before are not valid here. If this replaces the same installation, put its key back "
                        "(SECRET_KEY, or the instance folder's secret_key file).")
    with tempfile.TemporaryDirectory(prefix=".pro-app-restore-") as work:
        member = Path(work) / manifest["file"]
        private_file(member)
        with tarfile.open(path, "r") as tar:
            source = tar.extractfile(manifest["file"])
            if source is None:
                raise BackupError(f"{path} lacks its database ({manifest['file']})", REFUSED)
            with member.open("wb") as fh:
                shutil.copyfileobj(source, fh)
        if _sha256(member) != manifest.get("sha256"):
            raise BackupError(f"{path} is damaged: its database does not match the manifest's SHA-256", REFUSED)
        engine.dispose()
        if dialect == "sqlite":
            _restore_sqlite(engine, member)
        else:
            conninfo, env = _libpq(engine)
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                  "--dbname", conninfo, str(member)], env)
    with engine.connect() as connection:
        counts = _counts(connection)
    if counts != manifest["tables"]:
        differ = sorted(t for t in set(counts) | set(manifest["tables"]) if counts.get(t) != manifest["tables"].get(t))
        raise BackupError("the restored database differs from the backup's manifest in " + ", ".join(
            f"{t} ({counts.get(t)} rows, expected {manifest['tables'].get(t)})" for t in differ))
    return Restored(manifest, warnings)


def _restore_sqlite(engine: Engine, member: Path) -> None:
    target_path = Path(engine.url.database).resolve()
    private_file(target_path)
    source, target = sqlite3.connect(member), sqlite3.connect(target_path)
    try:
        source.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        source.close()
        target.close()
