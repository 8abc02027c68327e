"""``lock``: a pyodide-lock.json from what a channel holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from smithy.cli.options import MetadataOption, TokenFileOption, XBuildEnvOption


def lock(
    packages: Annotated[
        list[str],
        typer.Argument(metavar="PACKAGE...", help="Requirements: numpy, numpy==2.4.6, pkg[extra]."),
    ],
    channel: Annotated[
        str, typer.Option("--channel", metavar="URL|DIR", help="The channel to take wheels from.")
    ],
    label: Annotated[str, typer.Option("--label", help="Label to take wheels from.")] = "main",
    xbuildenv: XBuildEnvOption = None,
    metadata: MetadataOption = None,
    base: Annotated[
        Path | None,
        typer.Option(
            "--base",
            help="Extend this lock (e.g. npm pyodide's); channel packages replace its entries.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write (default: pyodide-lock.json, or in --copy DIR).",
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", help="Write file names relative to this URL.", show_default=False
        ),
    ] = None,
    copy: Annotated[
        Path | None,
        typer.Option(
            "--copy",
            metavar="DIR",
            help="Write the lock and every wheel it names into DIR, ready to serve.",
            show_default=False,
        ),
    ] = None,
    unvendor: Annotated[
        bool,
        typer.Option(
            "--unvendor-tests/--keep-tests",
            help="With --copy: move wheels' tests into <name>-tests entries.",
        ),
    ] = True,
    token_file: TokenFileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a summary as JSON.")] = False,
) -> None:
    """Resolve PACKAGE... over the channel's wheels for one Pyodide and write pyodide-lock.json."""
    from smithy.channel.open import existing, open_channel, read_token
    from smithy.channel.rules import check_label
    from smithy.lock.build import run_lock
    from smithy.xbuildenv import load_catalog

    check_label(label)
    target = load_catalog(metadata).resolve(xbuildenv)
    result = run_lock(
        packages,
        existing(open_channel(channel, token=read_token(token_file))),
        label=label,
        xbuildenv=target,
        output=output or (copy / "pyodide-lock.json" if copy else Path("pyodide-lock.json")),
        base=base,
        base_url=base_url,
        copy=copy,
        unvendor=unvendor,
    )
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        return
    from smithy.console import count

    for p in result.packages:
        print(f"{p['name']:<30} {p['version']:<14} {p['size']:>10}  {p['file_name']}")
    print(
        f"wrote {result.lock}: {count(len(result.packages), 'package')}, "
        f"{count(result.total_size, 'byte')}; "
        f"load with packageBaseUrl={result.package_base_url!r}"
    )
