"""The typer application. Each command parses options and calls one public function."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from smithy import __version__
from smithy.cli.bot_cmds import bot_app
from smithy.cli.build_cmds import build, pyodide_test
from smithy.cli.channel_cmds import channel_app, promote, review, upload
from smithy.cli.github_cmds import register_github
from smithy.cli.lock_cmd import lock
from smithy.cli.options import MetadataOption, XBuildEnvOption

app = typer.Typer(
    name="pyodide-smithy",
    help="Feedstocks for Pyodide packages: create them from recipes and keep their CI current.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"pyodide-smithy {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Show a traceback on errors (for bug reports).")
    ] = False,
) -> None:
    from smithy import console

    console.set_quiet(quiet)


@app.command()
def init(
    recipe: Annotated[
        str,
        typer.Argument(
            metavar="NAME|PATH",
            help="A package name (NAME or NAME==VERSION), or a meta.yaml or its folder.",
            show_default=False,
        ),
    ],
    recipes: Annotated[
        str | None,
        typer.Option(
            "--recipes",
            metavar="DIR|GIT_URL",
            help="A pyodide-recipes checkout or git URL to take NAME from (default: upstream "
            "pyodide-recipes, then a new recipe generated from PyPI).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Feedstock directory to create (default: ./<name>-feedstock).",
            show_default=False,
        ),
    ] = None,
    xbuildenv: XBuildEnvOption = None,
    metadata: MetadataOption = None,
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel",
            metavar="URL",
            help="The channel CI publishes to: anaconda://OWNER (your Anaconda.org user or "
            "organisation), or a URL or directory (CI then uploads nothing). Default: "
            "anaconda://pyodide. Stored as channel.url in pyodide-smithy.yml.",
            show_default=False,
        ),
    ] = None,
    from_source: Annotated[
        bool,
        typer.Option(
            "--from-source",
            help="Build the recipe's source even when the package index has upstream's own "
            "Pyodide wheel of that version for the xbuildenv (by default that wheel becomes "
            "the source).",
        ),
    ] = False,
) -> None:
    """Turn one recipe into a feedstock: a git repository with recipe/, settings and CI."""
    from smithy.feedstock.init import run_init

    result = run_init(
        recipe,
        recipes=recipes,
        output=output,
        xbuildenv=xbuildenv,
        metadata=metadata,
        channel=channel,
        from_source=from_source,
    )
    r = result.recipe
    print(
        f"created {result.feedstock} for {r.name} {r.version} "
        f"(xbuildenv {result.xbuildenv.version}, Python {result.xbuildenv.python_version}) "
        f"at commit {result.commit[:10]}"
    )


@app.command()
def rerender(
    feedstock: Annotated[
        Path,
        typer.Argument(metavar="[DIR]", help="The feedstock (default: the current directory)."),
    ] = Path(),
    xbuildenv: XBuildEnvOption = None,
    metadata: MetadataOption = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Change nothing; exit 1 if a rerender would change files."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Overwrite generated files edited by hand or not committed."),
    ] = False,
) -> int:
    """Regenerate the feedstock's CI, README and other generated files, and commit them."""
    from smithy.feedstock.rerender import run_rerender

    result = run_rerender(
        feedstock, xbuildenv=xbuildenv, metadata=metadata, check=check, force=force
    )
    if as_json:
        import json

        print(json.dumps(result.to_json(), indent=2))
    elif result.up_to_date:
        print(f"{result.feedstock}: up to date (xbuildenv {result.xbuildenv})")
    else:
        from smithy.console import count

        verb = "would change" if check else "changed"
        for change in result.changes:
            print(f"  {change.action:<6} {change.path}")
        for path in result.hand_edited:
            print(f"  (edited by hand: {path})", file=sys.stderr)
        tail = f", commit {result.commit[:10]}" if result.commit else ""
        print(
            f"{result.feedstock}: {verb} {count(len(result.changes), 'file')} "
            f"for xbuildenv {result.xbuildenv}{tail}"
        )
    return 1 if check and not result.up_to_date else 0


@app.command()
def lint(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="[PATH]",
            help="A feedstock, a recipe folder or its meta.yaml (default: the current directory).",
        ),
    ] = Path(),
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="Also ask the channel and the package index whether each requirement exists.",
        ),
    ] = False,
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel",
            metavar="URL",
            help="The channel --online asks (default: a feedstock's channel.url; none for a "
            "recipe).",
            show_default=False,
        ),
    ] = None,
    wheel: Annotated[
        Path | None,
        typer.Option(
            "--wheel",
            help="A built wheel to check package.top-level against (default: the feedstock's "
            "dist/, or a wheel source in the cache).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check a recipe or feedstock: each finding has an id (docs/lint.md); errors fail."""
    import os

    from smithy.lint import output
    from smithy.lint.run import LintOptions, run_lint

    result = run_lint(path, LintOptions(online=online, channel=channel, wheel=wheel))
    print(output.to_json(result) if as_json else output.text(result))
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for finding in result.findings:
            print(output.annotation(finding), file=sys.stderr)
    result.check()


@app.command()
def schema() -> None:
    """Print the JSON Schema of pyodide-smithy.yml (for editors and other tools)."""
    import json

    from smithy.config import json_schema

    print(json.dumps(json_schema(), indent=2))


@app.command("add-maintainer")
def add_maintainer(
    login: Annotated[
        str, typer.Argument(metavar="LOGIN", help="The GitHub login to add (with or without @).")
    ],
    feedstock: Annotated[
        Path,
        typer.Argument(
            metavar="[FEEDSTOCK]", help="The feedstock (default: the current directory)."
        ),
    ] = Path(),
    metadata: MetadataOption = None,
) -> None:
    """Add a maintainer to recipe/meta.yaml (in place), rerender CODEOWNERS; commit both."""
    from smithy.feedstock.maintainers import run_add_maintainer

    result = run_add_maintainer(login, feedstock, metadata=metadata)
    if not result.added:
        print(f"{result.feedstock}: {result.login} is already a maintainer")
        return
    rendered = result.rerender
    tail = f", rerender commit {rendered.commit[:10]}" if rendered and rendered.commit else ""
    print(f"{result.feedstock}: added {result.login} to recipe/meta.yaml{tail}")


app.command()(build)
app.command("test")(pyodide_test)
app.command()(upload)
app.command()(review)
app.command()(promote)
app.command()(lock)
app.command("register-github")(register_github)
app.add_typer(channel_app)
app.add_typer(bot_app)
