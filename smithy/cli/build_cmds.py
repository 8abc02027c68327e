"""``build`` and ``test``: what the feedstock's CI runs, runnable by a maintainer too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

FeedstockArgument = Annotated[
    Path,
    typer.Argument(metavar="[FEEDSTOCK]", help="The feedstock (default: the current directory)."),
]
ChannelOption = Annotated[
    str | None,
    typer.Option(
        "--channel",
        metavar="URL|DIR",
        help="Where dependencies come from (default: the feedstock's channel.url).",
        show_default=False,
    ),
]


def build(
    feedstock: FeedstockArgument = Path(),
    output: Annotated[Path, typer.Option("--output", "-o", help="Where the wheels go.")] = Path(
        "dist"
    ),
    channel: ChannelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Build the recipe: fetch and check its source, build for the pinned xbuildenv."""
    from smithy.build import run_build

    result = run_build(feedstock, output=output, channel=channel)
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        return
    for path in (*result.wheels, *result.tests_archives):
        print(path)


def pyodide_test(
    feedstock: FeedstockArgument = Path(),
    dist: Annotated[Path, typer.Option("--dist", help="The built wheels.")] = Path("dist"),
    channel: ChannelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> int:
    """Test the built wheels in a real Pyodide (Node.js): imports, then the recipe's test files.

    Exit 0 when everything passed, 1 when an install, an import or a test failed.
    """
    from smithy.testing import format_report, run_test

    report = run_test(feedstock, dist=dist, channel=channel)
    print(json.dumps(report.to_json(), indent=2) if as_json else format_report(report))
    return 0 if report.ok else 1
