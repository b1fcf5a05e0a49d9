"""The `pro-app` command line.

Only click is imported here. Each command imports what it needs when it runs: `score` and `instruments`
load the instrument library (NumPy, pyarrow) and never Flask; the commands that work on the database
(`serve`, `demo`, `user`, `export`) live in `cli_app.py`, which this group imports only when one of them is
called, so `pro-app --help` and `pro-app score` do not pay for starting the web application.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

#: The commands that need the web application: name → (module, attribute, help). The help is kept here so
#: `pro-app --help` can list them without importing them; cli_app.py uses the same text.
APP_COMMANDS = {
    "serve": ("pro_app.cli_app", "serve",
              "Run pro-app on a production WSGI server (waitress), after creating or upgrading the database."),
    "demo": ("pro_app.cli_app", "demo_command", "Seed (or top up) the demo study DEMO with N participants."),
    "user": ("pro_app.cli_app", "user", "Staff accounts."),
    "export": ("pro_app.cli_app", "export_command",
               "Write an analyst data set (items, scores, wide, CDISC sdtm_qs, adqs, fhir, ... or codebook)."),
    "assessments": ("pro_app.cli_app", "assessments",
                    "Assessments: close-expired closes started ones whose window ended (partial or missed)."),
    "alerts": ("pro_app.cli_app", "alerts",
               "Alerts: notify emails the due alert notifications (new ones, retries, digests); run it from cron."),
    "backup": ("pro_app.cli_app", "backup_command",
               "Back up the database to one file (SQLite online backup or pg_dump, with a manifest)."),
    "restore": ("pro_app.cli_app", "restore_command", "Restore a backup file into an empty database."),
    "datapackage": ("pro_app.cli_app", "datapackage_command",
                    "Write a study's codebook as a Frictionless datapackage.json (types the CSV exports)."),
    "define": ("pro_app.cli_app", "define_command",
               "Write define.xml (Define-XML 2.1) for a study's CDISC data sets: sdtm_qs, suppqs, adsl, adqs."),
    "db": ("flask_migrate.cli", "db", "Perform database migrations (Flask-Migrate: upgrade, downgrade, …)."),
}


class CommandLine(click.Group):
    """A click group whose application commands are imported on first use (see APP_COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *APP_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in APP_COMMANDS:
            from .cli_app import script_info

            if ctx.obj is None:  # the app the command runs on, unless the caller gave one (as tests do)
                ctx.obj = script_info()
            module, attribute, _ = APP_COMMANDS[name]
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in APP_COMMANDS:
                rows.append((name, click.Command(name, help=APP_COMMANDS[name][2]).get_short_help_str(limit)))
            else:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=CommandLine, help="pro-app: electronic patient-reported outcomes for oncology trials.")
def main() -> None:
    pass


@main.group(help="Instrument definitions: list them, check them.")
def instruments() -> None:
    pass


def _registry():
    from .instruments import InstrumentError, get_registry
    from .settings import instruments_dir_from

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
    from .instruments import InstrumentError, load_file
    from .instruments.examples import check_examples
    from .instruments.registry import definition_files

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
    from .instruments import InstrumentError
    from .instruments.registry import load_instrument
    from .instruments.scorefile import ScoreFileError, score_file, write_result
    from .settings import instruments_dir_from

    try:
        instrument = load_instrument(instrument_id, instruments_dir_from())
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="--instrument") from exc
    except InstrumentError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        scored = score_file(input_csv, instrument)
        for warning in scored.warnings:
            click.echo(f"warning: {warning}", err=True)
        write_result(scored.result, output, sys.stdout)
    except ScoreFileError as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    main()
