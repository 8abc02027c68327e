"""The command line as a process: start-up cost, the fast paths, the exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_not_a_feedstock_is_one_error_across_commands(tmp_path: Path) -> None:
    """Each command that works on a feedstock says the same line, with the same exit code."""
    for command in (
        ["build"],
        ["test"],
        ["rerender"],
        ["rerender", "--check"],
        ["register-github", ".", "--org", "o"],
    ):
        run = smithy(*command, cwd=tmp_path)
        assert (run.code, run.err) == (
            7,
            f"error: not a feedstock: no pyodide-smithy.yml ({tmp_path})\n",
        ), command


def test_upload_of_a_glob_that_matched_nothing(tmp_path: Path) -> None:
    run = smithy("upload", "dist/*.whl", "--channel", tmp_path / "channel", cwd=tmp_path)
    assert run.code == 2
    assert run.err == (
        "error: no wheels matched dist/*.whl: build them first "
        "(`pyodide-smithy build --output dist/`) (dist)\n"
    )
    assert not (tmp_path / "channel").exists()


def test_every_option_has_help_text() -> None:
    """A new maintainer reads --help: no option may be a bare name."""
    import typer.main

    from smithy.cli.app import app

    def walk(command: Any, path: str) -> list[str]:  # typer's vendored click types
        bare = [
            f"{path} {param.opts[0]}"
            for param in command.params
            if param.param_type_name == "option" and not (param.help or "").strip()
        ]
        for name, sub in getattr(command, "commands", {}).items():
            bare += walk(sub, f"{path} {name}")
        return bare

    assert walk(typer.main.get_command(app), "pyodide-smithy") == []
