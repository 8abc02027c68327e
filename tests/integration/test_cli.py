"""The command line as a process: start-up cost, the fast paths, the exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

from smithy import __version__
from tests.conftest import ROOT
from tests.integration.conftest import smithy

TOPHELP = ROOT / "smithy" / "cli" / "tophelp.py"
HEAVY = ("pyodide_build", "git", "github", "requests", "jinja2", "ruamel")


def typer_help() -> str:
    code = "from smithy.cli.app import app; app(['--help'], prog_name='pyodide-smithy')"
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    ).stdout


def test_fast_help_is_what_typer_prints(update_golden: bool) -> None:
    text = typer_help()
    assert "Commands:" in text
    if update_golden:
        TOPHELP.write_text(
            '"""Top-level ``--help``, as typer prints it. Generated: `pytest --update-golden`."""\n\n'
            f"TOP_HELP = {text!r}\n"
        )
    from smithy.cli.tophelp import TOP_HELP

    assert text == TOP_HELP, "run: pytest --update-golden"
    run = smithy("--help")
    assert run.code == 0
    assert run.out == text


def test_help_and_version_import_nothing_heavy() -> None:
    for flag in ("--help", "--version", "init --help", "rerender --help", "register-github --help"):
        code = (
            f"import sys; sys.argv = ['pyodide-smithy', *{flag!r}.split()]\n"
            "from smithy.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules}))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=True,
        ).stdout
        loaded = out.strip().splitlines()[-1]
        for module in (*HEAVY, "typer") if flag.startswith("--") else HEAVY:
            assert f"'{module}'" not in loaded, (flag, module)


def test_schema_command_prints_the_published_schema() -> None:
    run = smithy("schema")
    assert run.code == 0
    assert run.out == (ROOT / "docs" / "pyodide-smithy.schema.json").read_text()


def test_subcommand_help_and_usage_errors() -> None:
    run = smithy("init", "--help")
    assert run.code == 0
    assert "--recipes" in run.out
    assert "--xbuildenv-metadata" in run.out
    bad = smithy("rerender", "--no-such-option")
    assert bad.code == 2
    assert "No such option" in bad.err
    assert smithy("--version").out == f"pyodide-smithy {__version__}\n"
