"""Options several commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

XBuildEnvOption = Annotated[
    str | None,
    typer.Option(
        "--xbuildenv",
        help="xbuildenv version to build for, or 'latest' (default: the newest stable release).",
        show_default=False,
    ),
]
MetadataOption = Annotated[
    str | None,
    typer.Option(
        "--xbuildenv-metadata",
        metavar="URL|FILE",
        help="Pyodide's xbuildenv metadata (default: $PYODIDE_CROSS_BUILD_ENV_METADATA_URL, "
        "else Pyodide's published file).",
        show_default=False,
    ),
]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        help="Read the Anaconda.org token here instead of $ANACONDA_API_TOKEN.",
        show_default=False,
    ),
]
