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
