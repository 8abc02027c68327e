"""Command-line entry point: a thin typer layer over public ``run_*`` functions."""

from __future__ import annotations

import os
import sys

from smithy.errors import SmithyError


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every :class:`SmithyError` is reported here, in one place, as one line."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--help"], ["--version"]):
        _fast_path(args[0])  # start-up is part of the product: no typer for these two
    show_traceback = "--traceback" in args
    from smithy.cli.app import app

    try:
        code = app(args=args, prog_name="pyodide-smithy", standalone_mode=False)
    except SmithyError as exc:
        if show_traceback:
            raise
        _report(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        code = _click_exit(exc)
        if code is None:
            raise
    sys.exit(code if isinstance(code, int) else 0)


def _fast_path(flag: str) -> None:
    """Answer ``--help`` and ``--version`` without importing typer (a third of their budget).

    The help text is typer's own, captured in ``smithy/cli/tophelp.py``; a test keeps the two
    identical and ``pytest --update-golden`` refreshes it.
    """
    if flag == "--version":
        from smithy import __version__

        print(f"pyodide-smithy {__version__}")
    else:
        from smithy.cli.tophelp import TOP_HELP

        sys.stdout.write(TOP_HELP)
    sys.exit(0)


def _report(exc: SmithyError) -> None:
    from smithy.console import github_error

    print(f"error: {exc}", file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(github_error(exc.message, exc.file), file=sys.stderr)


def _click_exit(exc: Exception) -> int | None:
    """Exit code for click's own exceptions (usage errors, aborts); ``None`` for anything else."""
    from typer._click.exceptions import Abort, ClickException, Exit

    if isinstance(exc, Exit):
        return exc.exit_code
    if isinstance(exc, ClickException):
        exc.show()
        return exc.exit_code
    if isinstance(exc, Abort):
        print("error: aborted", file=sys.stderr)
        return 130
    return None
