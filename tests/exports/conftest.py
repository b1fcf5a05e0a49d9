"""A demo installation seeded once for the export tests (read-only for them), on a database of its own, and
every data set written once in every format by `pro-app export`."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.support.exports import DATASETS, FORMATS, demo_installation, run_cli


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """`pro-app demo --participants 6` on a database of its own; tests must not change its data (the audit
    trail excepted: exports append to it)."""
    with demo_installation(tmp_path_factory.mktemp("demo"), participants=6) as installation:
        yield installation


@dataclass(frozen=True)
class Written:
    data: bytes
    exit_code: int
    stderr: str
    leftovers: tuple[str, ...]


@pytest.fixture(scope="session")
def cli_files(demo, tmp_path_factory) -> dict[tuple[str, str], Written]:
    """`pro-app export --study DEMO --dataset D --format F -o FILE` for every data set and format."""
    folder = tmp_path_factory.mktemp("cli-files")
    written = {}
    for dataset in DATASETS:
        for fmt in FORMATS:
            out = folder / f"DEMO_{dataset}.{fmt}"
            result = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", dataset, "--format", fmt,
                             "-o", str(out))
            written[(dataset, fmt)] = Written(out.read_bytes() if out.exists() else b"", result.exit_code,
                                              result.stderr, tuple(p.name for p in folder.glob(".*")))
    return written
