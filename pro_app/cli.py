"""The `pro-app` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .instruments import InstrumentError, get_registry, load_file
from .instruments.examples import check_examples
from .instruments.registry import definition_files
from .instruments.scorefile import ScoreFileError, score_file, write_result


@click.group(help="pro-app: electronic patient-reported outcomes for oncology trials.")
def main() -> None:
    pass


@main.group(help="Instrument definitions: list them, check them.")
def instruments() -> None:
    pass


def _registry():
    try:
        return get_registry()
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
@click.option("--instrument", "instrument_id", required=True, help="qlq_c30, qlq_br45 or pro_ctcae")
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
        write_result(scored.result, output, sys.stdout)
    except ScoreFileError as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    main()
