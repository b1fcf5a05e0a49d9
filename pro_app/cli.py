"""The `pro-app` command line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade as upgrade_database
from waitress import serve as waitress_serve

from . import create_app
from .demo import seed_demo
from .exports.chunks import FilterError
from .exports.datasets import DATASETS, ExportError, Filters
from .exports.service import prepare as prepare_export
from .exports.service import stream as stream_export
from .exports.writers import WRITERS, neutralise
from .extensions import db
from .instruments import InstrumentError, get_registry, load_file
from .instruments.examples import check_examples
from .instruments.registry import definition_files
from .instruments.scorefile import ScoreFileError, score_file, write_result
from .models import ROLES
from .settings import instruments_dir_from
from .users.services import UserError, create_user, generate_password


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False, set_debug_flag=False,
             help="pro-app: electronic patient-reported outcomes for oncology trials.")
def main() -> None:
    pass


@main.group(help="Instrument definitions: list them, check them.")
def instruments() -> None:
    pass


def _registry():
    try:
        return get_registry(instruments_dir_from())
    except InstrumentError as exc:
        raise click.ClickException(str(exc)) from exc


@instruments.command("list", help="List the instruments in use (bundled, or a site's override).")
def list_instruments() -> None:
    for inst in _registry():
        click.echo(
            f"{inst.id:<10} {inst.version:<14} {inst.wording:<11} {len(inst.items):>3} items "
            f"{len(inst.scales):>3} scales  {inst.title.en}  [{inst.source}]"
        )


@instruments.command("check", help="Validate definitions: a file, a folder, or (default) those in use.")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def check_instruments(path: Path | None) -> None:
    failures = 0
    if path is None:
        loaded = list(_registry())
    else:
        loaded = []
        for file in definition_files(path) if path.is_dir() else [path]:
            try:
                loaded.append(load_file(file))
            except InstrumentError as exc:
                failures += 1
                click.echo(str(exc), err=True)
    for inst in loaded:
        problems = check_examples(inst)
        for problem in problems:
            click.echo(problem, err=True)
        failures += bool(problems)
        if not problems:
            click.echo(f"ok  {inst.id} {inst.version}: {len(inst.items)} items, {len(inst.scales)} scales, "
                       f"{len(inst.examples)} worked examples pass  [{inst.source}]")
    if failures:
        raise click.ClickException(f"{failures} definition(s) failed")
    if not loaded:
        raise click.ClickException(f"no definition files (*.yaml) in {path}")


@main.command(help="Score a CSV of item answers: first column an id, then item columns, blank = unanswered.")
@click.argument("input_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--instrument", "instrument_id", required=True, help="An instrument id (see pro-app instruments list).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="output CSV (default: stdout)")
def score(input_csv: Path, instrument_id: str, output: Path | None) -> None:
    try:
        instrument = _registry().get(instrument_id)
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="--instrument") from exc
    try:
        scored = score_file(input_csv, instrument)
        for warning in scored.warnings:
            click.echo(f"warning: {warning}", err=True)
        write_result(neutralise(scored.result), output, sys.stdout)  # ids as text, never as formulas
    except ScoreFileError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command(help="Run pro-app on a production WSGI server (waitress), after creating or upgrading the database.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Seed the demo study and print a coordinator login and a patient code.")
@with_appcontext
def serve(host: str, port: int, threads: int, demo: bool) -> None:
    upgrade_database()
    url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
    if demo:
        _print_demo(seed_demo(), url)
    # End this context's database session: on SQLite an open transaction here would hold the write lock.
    db.session.remove()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(f"pro-app serving on {url}/  (Ctrl+C to stop)")
    waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads, ident="pro-app")


@main.command("demo", help="Seed (or top up) the demo study DEMO with N participants.")
@click.option("--participants", default=20, show_default=True, type=click.IntRange(1, 100000))
@with_appcontext
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


@main.group(help="Staff accounts.")
def user() -> None:
    pass


@user.command("create", help="Create a user; the password is prompted, read from stdin, or generated and shown once.")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--study", "study_codes", multiple=True, help="Grant access to this study (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@with_appcontext
def create_user_command(email: str, role: str, study_codes: tuple[str, ...], password_stdin: bool,
                        generate: bool) -> None:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
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


@main.command("export", help="Write an analyst data set: items, scores, wide, proae, compliance or codebook.")
@click.option("--study", "study_code", required=True, help="Study code, e.g. DEMO")
@click.option("--dataset", required=True, type=click.Choice(DATASETS))
@click.option("--format", "fmt", default="csv", show_default=True, type=click.Choice(list(WRITERS)))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
@click.option("--site", "sites", multiple=True, help="Only this site (repeatable).")
@click.option("--timepoint", "timepoints", multiple=True, help="Only this timepoint (repeatable).")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="Target date on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Target date on or before (YYYY-MM-DD).")
@click.option("--excel", is_flag=True, help="CSV with a byte-order mark, so Excel reads accents correctly.")
@with_appcontext
def export_command(study_code, dataset, fmt, output, sites, timepoints, date_from, date_to, excel) -> None:
    filters = Filters(tuple(sites), tuple(timepoints), date_from.date() if date_from else None,
                      date_to.date() if date_to else None)
    try:
        export = prepare_export(study_code, dataset, fmt, filters)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from exc  # exit code 2, as for any bad option
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    chunks = stream_export(export, actor="system", user_id=None, via="cli", excel=excel)
    if output is None:
        if fmt != "csv" and sys.stdout.isatty():
            raise click.ClickException(f"{fmt} is binary: give a file with -o")
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


if __name__ == "__main__":
    main()
