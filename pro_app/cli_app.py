"""The `pro-app` commands that work on the database through the web application: serve, demo, user, export.

Imported by cli.py only when one of them runs. Each builds the application (or takes the one a caller gave in
a flask.cli.ScriptInfo, as tests do) and runs inside its application context.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo
from flask_migrate import upgrade as upgrade_database
from waitress import serve as waitress_serve

from .alerts import notify
from .app import create_app
from .assessments.closing import close_expired
from .cli import APP_COMMANDS
from .database import size_pool
from .demo import seed_demo
from .exports import datapackage
from .exports.chunks import FilterError
from .exports.datasets import DATASETS, ExportError, Filters, study_by_code
from .exports.labelled import STATA_VERSIONS
from .exports.service import define as define_download
from .exports.service import prepare as prepare_export
from .exports.service import stream as stream_export
from .exports.writers import FORMATS, RESOURCE_FORMATS
from .extensions import db
from .models import ROLES
from .users.services import UserError, create_user, generate_password


def script_info() -> ScriptInfo:
    """How flask.cli finds the app (used by Flask-Migrate's `db` commands too): build it from the settings."""
    return ScriptInfo(create_app=create_app, set_debug_flag=False)


def with_app(f):
    """Run the command inside the application's context (the caller's ScriptInfo app, else a new one)."""

    @click.pass_context
    @functools.wraps(f)
    def run(ctx: click.Context, /, *args, **kwargs):
        if not current_app:
            info = ctx.find_object(ScriptInfo) or script_info()
            ctx.with_resource(info.load_app().app_context())
            # Close the pool's connections when the command ends, not at garbage collection (a command run
            # in-process, as tests and the backup drill do, would leave PostgreSQL connections open). The
            # session gives its connection back first: one still checked out would outlive the disposed pool.
            ctx.call_on_close(_close_connections)
        return ctx.invoke(f, *args, **kwargs)

    return run


def _close_connections() -> None:
    db.session.remove()
    db.engine.dispose()


def _help(name: str) -> str:
    return APP_COMMANDS[name][2]


@click.command(help=_help("serve"))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=16, show_default=True, type=click.IntRange(1, 512),
              help="Requests handled at once (waitress worker threads).")
@click.option("--connection-limit", default=1000, show_default=True, type=click.IntRange(1, 100000),
              help="Open connections kept at once; one per tablet with keep-alive (waitress' own default is 100).")
@click.option("--backlog", default=2048, show_default=True, type=click.IntRange(1, 65535),
              help="Connections the system queues before pro-app accepts them (the kernel may cap it: somaxconn).")
@click.option("--channel-timeout", default=120, show_default=True, type=click.IntRange(1, 86400),
              help="Seconds an idle keep-alive connection stays open.")
@click.option("--demo", is_flag=True, help="Seed the demo study and print a coordinator login and a patient code.")
@with_app
def serve(host: str, port: int, threads: int, connection_limit: int, backlog: int, channel_timeout: int,
          demo: bool) -> None:
    app = current_app._get_current_object()
    if app.debug:
        # FLASK_DEBUG=1 left in the environment: the debugger and unhandled errors must never reach a site.
        click.echo("pro-app serve ignores FLASK_DEBUG: it never runs in debug mode.", err=True)
    app.debug = False
    settings = app.config["SETTINGS"]
    if host not in ("127.0.0.1", "localhost", "::1") and not (settings.server_name or settings.allowed_hosts):
        click.echo(f"Serving on {host}, but only localhost, 127.0.0.1 and [::1] are answered: set PRO_APP_SERVER_NAME "
                   "or PRO_APP_ALLOWED_HOSTS to the name or address the tablets use.", err=True)
    upgrade_database()
    url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
    if demo:
        _print_demo(seed_demo(), url)
    _echo_closed(close_expired())
    # End this context's database session: on SQLite an open transaction here would hold the write lock.
    db.session.remove()
    size_pool(db.engine, threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress").addFilter(_LimitHint(connection_limit, threads))
    click.echo(f"pro-app serving on {url}/  (Ctrl+C to stop; {threads} threads, up to {connection_limit} "
               f"connections, backlog {backlog}, idle connections closed after {channel_timeout} s)")
    waitress_serve(app, host=host, port=port, threads=threads,
                   connection_limit=connection_limit, backlog=backlog, channel_timeout=channel_timeout,
                   ident="pro-app")


class _LimitHint(logging.Filter):
    """Waitress' warnings when it is saturated, said plainly with what to change."""

    def __init__(self, connection_limit: int, threads: int):
        super().__init__()
        self.connection_limit, self.threads = connection_limit, threads

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "reached the connection limit" in message:
            record.msg = (f"CONNECTION LIMIT REACHED: {self.connection_limit} connections are open; new tablets "
                          "wait until one closes. Raise `pro-app serve --connection-limit` (see README).")
            record.args = ()
        elif "task queue depth" in message.lower():
            record.msg = (f"REQUESTS QUEUED: all {self.threads} threads are busy ({message}). Raise "
                          "`pro-app serve --threads`, or add a process behind the proxy (see README).")
            record.args = ()
        return True


@click.command("demo", help=_help("demo"))
@click.option("--participants", default=20, show_default=True, type=click.IntRange(1, 100000))
@with_app
def demo_command(participants: int) -> None:
    upgrade_database()
    _print_demo(seed_demo(participants), None)


def _print_demo(info, url: str | None) -> None:
    click.echo(f"Demo study {info.study_code}: {info.participants} participants.")
    if url:
        click.echo(f"  Open:               {url}/")
    click.echo(f"  Coordinator login:  {info.email}  password: {info.password}  (at /staff/login)")
    click.echo(f"  Patient code:       {info.patient_code}  (participant {info.patient}, {info.timepoint}; "
               "enter it on the start screen)")


def _echo_closed(closed) -> None:
    click.echo(f"Closed {closed.partial} expired assessment(s) as partial (scored) and {closed.missed} as missed.")


@click.group(help=_help("assessments"))
def assessments() -> None:
    pass


@assessments.command("close-expired", help="Close every started assessment whose window ended: partial (scored "
                     "by the half rule) when some items were answered, missed when none. Safe to run again.")
@with_app
def close_expired_command() -> None:
    _echo_closed(close_expired())


@click.group(help=_help("alerts"))
def alerts() -> None:
    pass


@alerts.command("notify", help="Email what is due: urgent alerts not sent yet, failed emails whose retry time has "
                "come, and digests. Never sends an alert twice; safe to run from cron every few minutes.")
@with_app
def notify_command() -> None:
    if notify.config() is None:
        raise click.ClickException("email is off: set PRO_APP_SMTP_URL and PRO_APP_SMTP_FROM (see README, "
                                   "Configuration)")
    done = notify.deliver()
    click.echo(f"Sent {done.sent} email(s) about {done.alerts} alert notification(s); {done.failed} failed "
               "(tried again later).")
    for error in sorted(set(done.errors)):
        click.echo(f"  failed: {error}", err=True)
    if done.failed and not done.sent:
        sys.exit(1)


@click.group(help=_help("user"))
def user() -> None:
    pass


@user.command("create", help="Create a user; the password is prompted, read from stdin, or generated and shown once.")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--study", "study_codes", multiple=True, help="Grant access to this study (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@with_app
def create_user_command(email: str, role: str, study_codes: tuple[str, ...], password_stdin: bool,
                        generate: bool) -> None:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")  # a line end from Windows too
    elif generate or not sys.stdin.isatty():
        password = generate_password()
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        created = create_user(email, role, password, study_codes)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {created.email} ({created.role})")
    if not password_stdin and (generate or not sys.stdin.isatty()):
        click.echo(f"password: {password}  (shown once)")


@click.command("datapackage", help=_help("datapackage"))
@click.option("--study", "study_code", required=True, help="Study code, e.g. DEMO")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
@with_app
def datapackage_command(study_code, output) -> None:
    try:
        package = datapackage.descriptor(study_by_code(study_code))
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    text = json.dumps(package, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@click.command("define", help=_help("define"))
@click.option("--study", "study_code", required=True, help="Study code, e.g. DEMO")
@click.option("--stylesheet", help="Name a Define-XML stylesheet next to the file (e.g. define2-1.xsl, from "
                                   "CDISC), so a browser shows it formatted.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
@with_app
def define_command(study_code, stylesheet, output) -> None:
    try:
        data = define_download(study_code, actor="system", user_id=None, via="cli", stylesheet=stylesheet)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from exc
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)


#: Formats fit for a terminal (the others need -o).
TEXT_FORMATS = ("csv", *RESOURCE_FORMATS)


@click.command("export", help=_help("export"))
@click.option("--study", "study_code", required=True, help="Study code, e.g. DEMO")
@click.option("--dataset", required=True, type=click.Choice(DATASETS))
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)),
              help="default csv; the fhir data set is ndjson (default) or json (a Bundle), and only those")
@click.option("--stata-version", type=click.Choice([str(v) for v in STATA_VERSIONS]),
              help="dta only: 14 (default; Stata 14 and later), 13, or 12 (Stata 12 format 115, which R's "
                   "foreign::read.dta opens; text cut at 243 bytes).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
@click.option("--site", "sites", multiple=True, help="Only this site (repeatable).")
@click.option("--timepoint", "timepoints", multiple=True, help="Only this timepoint (repeatable).")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="Target date on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Target date on or before (YYYY-MM-DD).")
@click.option("--excel", is_flag=True, help="CSV with a byte-order mark, so Excel reads accents correctly.")
@with_app
def export_command(study_code, dataset, fmt, stata_version, output, sites, timepoints, date_from, date_to,
                   excel) -> None:
    filters = Filters(tuple(sites), tuple(timepoints), date_from.date() if date_from else None,
                      date_to.date() if date_to else None)
    try:
        export = prepare_export(study_code, dataset, fmt, filters,
                                stata_version=int(stata_version) if stata_version else None)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from exc  # exit code 2, as for any bad option
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    chunks = stream_export(export, actor="system", user_id=None, via="cli", excel=excel)
    if output is None:
        if export.format not in TEXT_FORMATS and sys.stdout.isatty():
            raise click.ClickException(f"{export.format} is binary: give a file with -o")
        out = sys.stdout.buffer
        for data in chunks:
            out.write(data)
        out.flush()
    else:
        temporary = output.with_name(f".{output.name}.tmp")
        try:
            with temporary.open("wb") as fh:
                for data in chunks:
                    fh.write(data)
            temporary.replace(output)
        finally:
            temporary.unlink(missing_ok=True)
        click.echo(f"wrote {export.rows} rows to {output}", err=True)




@click.command("backup", help=_help("backup"))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the backup file to write (replaced if it exists; readable by the service user only)")
@with_app
def backup_command(output: Path) -> None:
    from . import backup

    try:
        manifest = backup.create(output)
    except backup.BackupError as exc:
        raise _BackupFailed(exc) from exc
    rows = sum(manifest["tables"].values())
    click.echo(f"wrote {output}: {manifest['database']} database at migration {manifest['migration']}, "
               f"{len(manifest['tables'])} tables, {rows} rows, {len(manifest['instruments'])} instrument "
               f"definitions; SECRET_KEY fingerprint {manifest['secret_key_fingerprint']}", err=True)


@click.command("restore", help=_help("restore"))
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_app
def restore_command(backup_file: Path) -> None:
    from . import backup

    try:
        restored = backup.restore(backup_file)
    except backup.BackupError as exc:
        raise _BackupFailed(exc) from exc
    for warning in restored.warnings:
        click.echo(f"warning: {warning}", err=True)
    manifest = restored.manifest
    click.echo(f"restored {backup_file} (made {manifest['created_at']} by pro-app {manifest['pro_app_version']}): "
               f"{len(manifest['tables'])} tables, {sum(manifest['tables'].values())} rows, every table's row count "
               "checked against the manifest", err=True)


class _BackupFailed(click.ClickException):
    """A BackupError on the command line: its message, and exit code 2 when nothing was done (a refusal)."""

    def __init__(self, error):
        super().__init__(str(error))
        self.exit_code = error.exit_code
