"""In-process CLI runner: invokes the real `ssmux` click group with captured stdout/stderr."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ssmux.cli.main import cli


@dataclass
class Run:
    """What a user sees from one command: exit status, stdout, stderr."""

    status: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in the test's own folder: a relative file a command writes never lands in the repo."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def ssmux() -> Callable[..., Run]:
    """Run ``ssmux ARGS...`` in-process; exceptions that escape the CLI fail the test."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Run:
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return run
