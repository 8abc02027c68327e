"""Channel commands: upload (CI), review and promote (maintainers), channel list/remove/serve."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smithy.cli.options import MetadataOption, TokenFileOption

if TYPE_CHECKING:
    from smithy.channel.model import Channel
    from smithy.config import FeedstockConfig
    from smithy.xbuildenv import XBuildEnv

channel_app = typer.Typer(
    name="channel",
    help="Look after a channel: list, remove; serve and reindex a local one.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ChannelOption = Annotated[
    str | None,
    typer.Option(
        "--channel",
        metavar="URL|DIR",
        help="anaconda://OWNER, https://API/OWNER[?index=URL], file://DIR or DIR "
        "(default: the feedstock's channel.url).",
        show_default=False,
    ),
]
FeedstockOption = Annotated[
    Path, typer.Option("--feedstock", help="The feedstock whose settings apply.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@dataclass(frozen=True)
class Context:
    """The channels and settings a command works with."""

    main: Channel
    staging: Channel
    label: str
    config: FeedstockConfig | None


def _context(
    channel: str | None,
    feedstock: Path,
    token_file: Path | None,
    *,
    staging: str | None = None,
    reading: bool = True,
) -> Context:
    from smithy.channel.open import existing, open_channel, read_token
    from smithy.config import CONFIG_FILE, load_config
    from smithy.errors import UsageError

    config = load_config(feedstock / CONFIG_FILE) if (feedstock / CONFIG_FILE).is_file() else None
    url = channel or (config.channel.url if config else None)
    if url is None:
        raise UsageError("no channel: pass --channel, or run inside a feedstock", key="--channel")
    token = read_token(token_file)
    main = open_channel(url, token=token)
    staging_url = staging or (config.channel.staging_url if config and not channel else "") or url
    staged = main if staging_url == url else open_channel(staging_url, token=token)
    if reading:  # a channel that is not there yet is fine to upload into, not to read from
        existing(main)
        existing(staged)
    label = config.channel.label if config else "staging"
    return Context(main, staged, label, config)


def _xbuildenv(
    version: str | None, config: FeedstockConfig | None, feedstock: Path, metadata: str | None
) -> XBuildEnv | None:
    """The xbuildenv wheels must fit: asked for, else the feedstock's (its manifest knows it)."""
    wanted = version or (config.xbuildenv if config else None)
    if wanted is None:
        return None
    from smithy.feedstock.state import read_manifest

    manifest = read_manifest(feedstock) if config else None
    if manifest is not None and manifest.xbuildenv.version == wanted:
        return manifest.xbuildenv
    from smithy.xbuildenv import load_catalog

    return load_catalog(metadata).resolve(wanted)


def upload(
    wheels: Annotated[list[Path], typer.Argument(metavar="WHEEL...", help="Wheels to upload.")],
    channel: ChannelOption = None,
    label: Annotated[
        str | None,
        typer.Option(
            "--label",
            help="Label to upload to (default: the feedstock's, else staging).",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite a file that differs.")
    ] = False,
    xbuildenv: Annotated[
        str | None,
        typer.Option(
            "--xbuildenv",
            help="xbuildenv the wheels must fit (default: the feedstock's).",
            show_default=False,
        ),
    ] = None,
    metadata: MetadataOption = None,
    feedstock: FeedstockOption = Path(),
    token_file: TokenFileOption = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel uploads.")] = 8,
) -> None:
    """Check wheels, then upload them with provenance (feedstock, commit, CI run, xbuildenv)."""
    from smithy.channel.rules import check_label
    from smithy.channel.upload import Origin, run_upload

    label = check_label(label) if label is not None else None
    ctx = _context(channel, feedstock, token_file, reading=False)
    target_env = _xbuildenv(xbuildenv, ctx.config, feedstock, metadata)
    origin = Origin(
        feedstock=feedstock.absolute().name if ctx.config else None,
        commit=_head(feedstock) if ctx.config else None,
        xbuildenv=target_env.version if target_env else None,
        package=_recipe_package(feedstock) if ctx.config else None,
    )
    results = run_upload(
        wheels,
        ctx.staging,
        label=label or ctx.label,
        xbuildenv=target_env,
        origin=origin,
        replace=replace,
        jobs=max(1, jobs),
    )
    counts = {
        o: sum(1 for r in results if r.outcome == o)
        for o in ("uploaded", "replaced", "labelled", "exists")
    }
    summary = ", ".join(
        f"{n} {'already there' if o == 'exists' else o}" for o, n in counts.items() if n
    )
    print(f"{ctx.staging.description} ({label or ctx.label}): {summary}")


def _recipe_package(feedstock: Path) -> str:
    """The package a feedstock's recipe builds: the only project it may upload."""
    from smithy.feedstock.state import RECIPE_DIR
    from smithy.recipe.load import load_recipe

    return load_recipe(feedstock / RECIPE_DIR).name


def _names(package: str | None, label: str | None) -> None:
    """Refuse a PACKAGE or --label that the channel could not hold (they go into URLs)."""
    from smithy.channel.rules import check_label, check_project

    if package is not None:
        check_project(package, what="PACKAGE")
    if label is not None:
        check_label(label)


def _head(feedstock: Path) -> str | None:
    from smithy.errors import GitError
    from smithy.gitio import open_repo

    repo = open_repo(feedstock.absolute())
    if repo is None:
        return None
    try:
        return repo.git("rev-parse", "HEAD", what="read the commit").strip()
    except GitError:
        return None


def review(
    package: Annotated[
        str | None, typer.Argument(help="Only this package.", show_default=False)
    ] = None,
    channel: ChannelOption = None,
    staging: Annotated[
        str | None,
        typer.Option(
            "--staging-channel",
            help="A separate staging channel (default: the feedstock's staging-url).",
            show_default=False,
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Staging label.", show_default=False)
    ] = None,
    feedstock: FeedstockOption = Path(),
    token_file: TokenFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show what waits in staging but not in main, with provenance and what changed."""
    from smithy.channel.review import run_review

    _names(package, label)
    ctx = _context(channel, feedstock, token_file, staging=staging)
    reviews = run_review(ctx.staging, ctx.main, label=label or ctx.label, package=package)
    if as_json:
        print(json.dumps([r.to_json() for r in reviews], indent=2))
        return
    if not reviews:
        print(f"nothing waits in {label or ctx.label} on {ctx.staging.description}")
    for r in reviews:
        print("\n".join(r.lines()))


def promote(
    package: Annotated[str, typer.Argument(help="Package name.", show_default=False)],
    version: Annotated[str, typer.Argument(help="Its version.", show_default=False)],
    filename: Annotated[
        str | None, typer.Argument(metavar="[FILE]", help="Only this file.", show_default=False)
    ] = None,
    channel: ChannelOption = None,
    staging: Annotated[
        str | None,
        typer.Option("--staging-channel", help="A separate staging channel.", show_default=False),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Staging label.", show_default=False)
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            metavar="FILE|URL",
            help="Outputs registry: package name -> feedstock.",
            show_default=False,
        ),
    ] = None,
    xbuildenv: Annotated[
        str | None,
        typer.Option(
            "--xbuildenv",
            help="xbuildenv the files must fit (default: the feedstock's).",
            show_default=False,
        ),
    ] = None,
    metadata: MetadataOption = None,
    feedstock: FeedstockOption = Path(),
    token_file: TokenFileOption = None,
) -> None:
    """Copy checked files from staging to main: sha256 as uploaded, owner, platform."""
    import os

    from smithy.channel.open import existing
    from smithy.channel.registry import load_registry
    from smithy.channel.review import run_promote

    _names(package, label)
    ctx = _context(channel, feedstock, token_file, staging=staging, reading=False)
    existing(ctx.staging)  # main may be a local channel promote creates
    source = registry or os.environ.get("PYODIDE_SMITHY_REGISTRY")
    promoted = run_promote(
        package,
        version,
        filename,
        staging=ctx.staging,
        main=ctx.main,
        label=label or ctx.label,
        xbuildenv=_xbuildenv(xbuildenv, ctx.config, feedstock, metadata),
        registry=load_registry(source) if source else None,
    )
    for f in promoted:
        print(f"promoted {f.filename} to main on {ctx.main.description}")


@channel_app.command("list")
def list_files(
    package: Annotated[
        str | None, typer.Argument(help="Only this package.", show_default=False)
    ] = None,
    channel: ChannelOption = None,
    feedstock: FeedstockOption = Path(),
    token_file: TokenFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Files with their versions, labels, sizes and upload times."""
    _names(package, None)
    ctx = _context(channel, feedstock, token_file)
    files = sorted(ctx.main.files(package), key=lambda f: (f.project, f.version, f.filename))
    if as_json:
        print(json.dumps([f.to_json() for f in files], indent=2))
        return
    for f in files:
        print(f"{f.filename:<60} {','.join(f.labels):<16} {f.size:>10}  {f.upload_time}")
    from smithy.console import count

    print(f"{count(len(files), 'file')} on {ctx.main.description}", file=sys.stderr)


@channel_app.command("remove")
def remove(
    package: Annotated[str, typer.Argument(show_default=False)],
    version: Annotated[str, typer.Argument(show_default=False)],
    filename: Annotated[str | None, typer.Argument(metavar="[FILE]", show_default=False)] = None,
    label: Annotated[
        str | None,
        typer.Option(
            "--label", help="Only take this label off (the file stays).", show_default=False
        ),
    ] = None,
    channel: ChannelOption = None,
    feedstock: FeedstockOption = Path(),
    token_file: TokenFileOption = None,
) -> None:
    """Remove files of a package version (or only one label from them)."""
    from smithy.errors import ChannelError

    _names(package, label)
    ctx = _context(channel, feedstock, token_file)
    chosen = [
        f
        for f in ctx.main.files(package)
        if f.version == version
        and (filename is None or f.filename == filename)
        and (label is None or label in f.labels)
    ]
    if not chosen:
        raise ChannelError(f"no file of {package} {version} to remove", file=ctx.main.description)
    for f in chosen:
        if label is None:
            ctx.main.delete(f)
            print(f"removed {f.filename}")
        else:
            ctx.main.set_label(f, label, present=False)
            print(f"removed label {label} from {f.filename}")


@channel_app.command("serve")
def serve(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A local channel.")],
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on (0.0.0.0 for every interface)."),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on (0: any free one).")
    ] = 8000,
) -> None:
    """Serve a local channel over HTTP with CORS, for micropip (index: http://HOST:PORT/simple/)."""
    from smithy.channel.local import LocalChannel
    from smithy.channel.open import existing
    from smithy.channel.serve import make_server

    existing(LocalChannel(directory))  # the same refusal as every command that reads a channel
    server = make_server(directory, host, port)
    print(
        f"serving {directory} at http://{host}:{server.server_address[1]}/simple/ (Ctrl-C stops)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@channel_app.command("reindex")
def reindex(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A local channel.")],
    check: Annotated[
        bool,
        typer.Option("--check", help="Change nothing; exit 1 if something is out of step."),
    ] = False,
) -> int:
    """Rebuild a local channel's indexes from its registry (after a crash): say what it fixed."""
    from smithy import console
    from smithy.channel.local import LocalChannel
    from smithy.channel.open import existing

    local = LocalChannel(directory)
    existing(local)
    result = local.reindex(fix=not check)
    for repair in result.repairs:
        print(repair.line(fixed=not check))
    for problem in result.problems:
        console.warn(problem)
    if not result.repairs:
        print("indexes are up to date")
    return 1 if check and result.repairs else 0
