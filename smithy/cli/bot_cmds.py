"""``bot``: the migration bot that keeps an org's feedstocks on the newest xbuildenv."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

bot_app = typer.Typer(
    name="bot",
    help="The migration bot: move an org's feedstocks to new xbuildenvs, show where they stand.",
    no_args_is_help=True,
)

# Options `run` and `status` share: both read the org the same way.
OrgOption = Annotated[str, typer.Option("--org", help="The GitHub organization of the feedstocks.")]
MetadataOption = Annotated[
    str | None,
    typer.Option(
        "--xbuildenv-metadata",
        metavar="URL|FILE",
        help="Pyodide's xbuildenv metadata (default: Pyodide's published file).",
        show_default=False,
    ),
]
ChannelOption = Annotated[
    str | None,
    typer.Option(
        "--channel",
        help="Where wheels are published, for ABI migrations (default: anaconda://pyodide).",
        show_default=False,
    ),
]


# Options `run` and `versions` share: both open pull requests across the org.
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Change nothing: report what would be done.")
]
MaxPrsOption = Annotated[
    int | None,
    typer.Option("--max-prs", min=0, help="Open at most N pull requests.", show_default=False),
]
ShardOption = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="I/N",
        help="Only the feedstocks whose stable hash mod N is I.",
        show_default=False,
    ),
]


def _report(result: Any, lines: list[str], *, as_json: bool, counted: str = "") -> int:
    """What ``bot run`` and ``bot versions`` print: JSON, or a line per decision (``lines``)
    with its action, then a tally; 1 when an action failed."""
    from smithy import console

    failed = any(a.action == "failed" for a in result.actions)
    if not result.decisions:
        _warn_no_feedstocks(result.org)
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        return 1 if failed else 0
    actions = {a.feedstock: a for a in result.actions}
    tally = Counter(a.action for a in result.actions)
    for d, line in zip(result.decisions, lines, strict=True):
        action = actions.get(d.feedstock)
        extra = f" #{action.pull}" if action and action.pull else ""
        print(f"{line}\t[{action.action}{extra}]" if action else line)
    if result.decisions:
        done = ", ".join(f"{n} {what}" for what, n in sorted(tally.items())) or "nothing to do"
        console.info(f"{console.count(len(result.decisions), 'feedstock')}{counted}: {done}")
    return 1 if failed else 0


def _org(org: str) -> str:
    from smithy.errors import UsageError

    if not org.strip():
        raise UsageError("pass the organization with --org", key="--org")
    return org.strip()


def _warn_no_feedstocks(org: str) -> None:
    from smithy import console

    console.warn(f"no feedstocks in {org}: no repository has pyodide-smithy.yml")


@bot_app.command("run")
def bot_run(
    *,
    org: OrgOption,
    xbuildenv: Annotated[
        str | None,
        typer.Option(
            "--xbuildenv",
            help="Migrate to this xbuildenv version, or 'latest' (default: the newest stable "
            "release; pre-releases for feedstocks that opted in).",
            show_default=False,
        ),
    ] = None,
    metadata: MetadataOption = None,
    channel: ChannelOption = None,
    dry_run: DryRunOption = False,
    max_prs: MaxPrsOption = None,
    shard: ShardOption = None,
    status_url: Annotated[
        str | None,
        typer.Option(
            "--status-url",
            metavar="URL",
            help="The status page pull requests link to (default: the GitHub Pages site of "
            "ORG/pyodide-smithy-admin).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> int:
    """Plan the migration of every feedstock of ORG and open (or refresh) its pull requests.

    GitHub credentials as for register-github. Exit 1 when an action failed for a feedstock
    (the others still ran; a re-run picks up where it stopped).
    """
    from smithy.bot.run import parse_shard, run_bot

    result = run_bot(
        _org(org),
        xbuildenv=xbuildenv,
        metadata=metadata,
        channel=channel,
        dry_run=dry_run,
        max_prs=max_prs,
        shard=parse_shard(shard),
        status_url=status_url,
    )
    lines = [f"{d.feedstock}\t{d.state}\t{d.reason}" for d in result.decisions]
    return _report(result, lines, as_json=as_json)


@bot_app.command("versions")
def bot_versions(
    *,
    org: OrgOption,
    metadata: MetadataOption = None,
    dry_run: DryRunOption = False,
    max_prs: MaxPrsOption = None,
    shard: ShardOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> int:
    """Open a pull request for each feedstock of ORG whose upstream released a newer version.

    The package index is $PYODIDE_SMITHY_INDEX_URL (default PyPI). GitHub credentials as for
    register-github. Exit 1 when an action failed for a feedstock (the others still ran).
    """
    from smithy import console
    from smithy.bot.run import parse_shard
    from smithy.bot.versions import run_versions

    result = run_versions(
        _org(org), metadata=metadata, dry_run=dry_run, max_prs=max_prs, shard=parse_shard(shard)
    )
    lines = [
        f"{d.feedstock}\t{d.current}{f' -> {d.newest}' if d.newest else ''}\t{d.state}\t{d.reason}"
        for d in result.decisions
    ]
    requests = f", {console.count(result.index_requests, 'index request')}"
    return _report(result, lines, as_json=as_json, counted=requests)


@bot_app.command("status")
def bot_status(
    *,
    org: OrgOption,
    xbuildenv: Annotated[
        str | None,
        typer.Option(
            "--xbuildenv",
            help="The migration to show, or 'latest' (default: as bot run chooses).",
            show_default=False,
        ),
    ] = None,
    metadata: MetadataOption = None,
    channel: ChannelOption = None,
    reports: Annotated[
        list[Path] | None,
        typer.Option(
            "--run-report",
            metavar="FILE",
            help="A `bot run --json` report whose failures to show (repeatable).",
            show_default=False,
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="DIR",
            help="Write the status page (index.html and status.json) into DIR.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    versions: Annotated[
        bool,
        typer.Option(
            "--versions/--no-versions",
            help="Ask the package index ($PYODIDE_SMITHY_INDEX_URL, default PyPI) for newer "
            "upstream versions; --no-versions to work offline.",
        ),
    ] = True,
) -> int:
    """Show where every feedstock of ORG stands in its xbuildenv migration, and its version.

    Reads GitHub and the channel as bot run does, and the package index as bot versions does,
    and changes nothing. The JSON format is documented in docs/status.md.
    """
    from smithy import console
    from smithy.bot.status import gather_status, text_lines
    from smithy.errors import UsageError

    name = _org(org)
    if html is not None and html.exists() and not html.is_dir():
        raise UsageError("--html must name a directory", file=html)
    report = gather_status(
        name,
        xbuildenv=xbuildenv,
        metadata=metadata,
        channel=channel,
        reports=reports or (),
        versions=versions,
    )
    if not report.migrations:
        _warn_no_feedstocks(report.org)
    if report.versions.problem:
        console.warn(f"upstream versions unknown: {report.versions.problem}")
    if html is not None:
        from smithy.bot.status_page import write_site

        console.info(f"wrote {write_site(report, html)}")
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    elif html is None:
        print("\n".join(text_lines(report)))
    return 0


@bot_app.command("import")
def bot_import(
    recipes_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RECIPES_DIR",
            help="A pyodide-recipes checkout: recipe folders (here or in packages/), each "
            "with a meta.yaml.",
        ),
    ],
    *,
    org: Annotated[
        str, typer.Option("--org", help="The GitHub organization that gets the feedstocks.")
    ],
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=16,
            help="Recipes imported at once (GitHub limits concurrent writes: keep it low).",
        ),
    ] = 4,
    dry_run: DryRunOption = False,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--upload-token-file",
            help="Read the Anaconda token CI uploads with here instead of $ANACONDA_API_TOKEN; "
            "each repository gets it as its ANACONDA_API_TOKEN Actions secret.",
            show_default=False,
        ),
    ] = None,
    xbuildenv: Annotated[
        str | None,
        typer.Option(
            "--xbuildenv",
            help="The xbuildenv the feedstocks build for, or 'latest' (default: the newest "
            "stable release).",
            show_default=False,
        ),
    ] = None,
    metadata: MetadataOption = None,
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel",
            help="The channel the feedstocks' CI publishes to, as for init (default: "
            "anaconda://pyodide).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> int:
    """Turn every recipe of RECIPES_DIR into a registered feedstock of ORG: init, then
    register-github.

    Libraries first, then dependencies before what needs them. A feedstock that exists is
    skipped and reported as matching the recipe or not (recipe/meta.yaml); one that a stopped
    run left half-registered is completed, so a re-run resumes. GitHub credentials as for
    register-github. Exit 1 when a recipe failed (the others still ran).
    """
    from smithy import console
    from smithy.bot.bulk_import import ImportOptions, run_import
    from smithy.bot.bulk_recipes import recipe_folders
    from smithy.channel.open import TOKEN_ENV, read_token
    from smithy.github.register import SECRET_NAME

    total = len(recipe_folders(recipes_dir))  # a bad folder fails here, before credentials
    upload_token = read_token(token_file)
    if upload_token is None:
        console.warn(
            f"no upload token (--upload-token-file or ${TOKEN_ENV}): the repositories get no "
            f"{SECRET_NAME} secret, so CI cannot upload until one is set"
        )
    options = ImportOptions(
        org=_org(org),
        jobs=jobs,
        dry_run=dry_run,
        upload_token=upload_token,
        xbuildenv=xbuildenv,
        metadata=metadata,
        channel=channel,
    )
    with console.stepping(total, "import", enabled=not as_json) as step:
        result = run_import(recipes_dir, options, on_done=lambda o: step(f"{o.repo} {o.outcome}"))
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        return 1 if result.failed else 0
    for o in result.outcomes:
        print("\t".join(part for part in (o.recipe, o.repo, o.outcome, o.reason) if part))
    done = ", ".join(f"{n} {what}" for what, n in result.totals().items() if n)
    console.info(f"{console.count(total, 'recipe')} in {result.seconds:.1f} s: {done}")
    return 1 if result.failed else 0


@bot_app.command("init-admin")
def bot_init_admin(
    org: Annotated[str, typer.Argument(help="The GitHub organization the bot works for.")],
    *,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="Where to create the repository (default: ./pyodide-smithy-admin).",
            show_default=False,
        ),
    ] = None,
    shards: Annotated[
        int, typer.Option("--shards", help="How many bot run jobs split the org.")
    ] = 4,
    schedule: Annotated[
        str, typer.Option("--schedule", metavar="CRON", help="When the bot runs (UTC).")
    ] = "23 */2 * * *",
    channel: Annotated[
        str,
        typer.Option("--channel", help="Where the feedstocks publish (for ABI migrations)."),
    ] = "anaconda://pyodide",
    pyodide_smithy: Annotated[
        str | None,
        typer.Option(
            "--pyodide-smithy",
            metavar="VERSION|GIT_URL@COMMIT",
            help="Where the bot, and through its pull requests every feedstock's CI, installs "
            "pyodide-smithy from: a release (0.1.0) or git+https://HOST/OWNER/REPO@COMMIT "
            "(default: this pyodide-smithy's own release or git commit).",
            show_default=False,
        ),
    ] = None,
) -> int:
    """Create ORG's admin repository: a scheduled, sharded bot run and its status page.

    A new git repository with .github/workflows/bot.yml (bot run over a matrix of shards, then
    bot status published to GitHub Pages) and a README saying how to set up the GitHub App,
    secrets and Pages. Push it as ORG/pyodide-smithy-admin.
    """
    from smithy import console
    from smithy.admin import AdminSettings, run_init_admin, smithy_install_option
    from smithy.bot.plan import ADMIN_REPO

    settings = AdminSettings(
        org=org.strip(),
        shards=shards,
        schedule=schedule,
        channel=channel,
        smithy=smithy_install_option(pyodide_smithy),
    )
    target, _ = run_init_admin(settings, output or Path.cwd() / ADMIN_REPO)
    print(f"created {target}")
    console.info(
        f"next: push it as {settings.org}/{ADMIN_REPO}, then follow its README "
        "(GitHub App, secret, variables, Pages)"
    )
    return 0


# For commands that make feedstocks (stage-init, stage-merge): the channel each one publishes to.
FeedstockChannelOption = Annotated[
    str | None,
    typer.Option(
        "--channel",
        help="The channel the feedstocks' CI publishes to, as for init (default: "
        "anaconda://pyodide).",
        show_default=False,
    ),
]


@bot_app.command("stage-init")
def bot_stage_init(
    recipe: Annotated[Path, typer.Argument(help="A staged recipe's folder (recipes/NAME).")],
    *,
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="DIR", help="The feedstock to create.")
    ],
    channel: FeedstockChannelOption = None,
    metadata: MetadataOption = None,
) -> int:
    """Make a staged recipe's feedstock in DIR, as init does, and print what its CI needs.

    The admin repository's staged-recipes workflow builds and tests the feedstock with its own
    commands; the lines printed (KEY=VALUE: python, pyodide_build, xbuildenv, emscripten,
    needs_emscripten, runs_tests, ...) go to $GITHUB_OUTPUT for the steps that set them up.
    """
    from smithy.admin.staged import stage_init

    facts = stage_init(recipe, output, channel=channel, metadata=metadata)
    print("\n".join(f"{key}={value}" for key, value in facts.items()))
    return 0


@bot_app.command("stage-merge")
def bot_stage_merge(
    recipes: Annotated[
        Path, typer.Argument(help="The staged recipes' folder in a clone of the admin repository.")
    ] = Path("recipes"),
    *,
    org: OrgOption,
    channel: FeedstockChannelOption = None,
    metadata: MetadataOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> int:
    """Register a feedstock for each staged recipe, then remove the recipe and push.

    For every recipes/NAME: init, then register-github as ORG/NAME-feedstock (GitHub
    credentials as for register-github), then a commit removing recipes/NAME pushed to the
    clone's branch. A feedstock that already holds the recipe is finished, not made again; a
    re-run picks up what a failed one left. Exit 1 when a recipe failed (the others still ran).
    """
    from smithy.admin.staged import run_stage_merge

    result = run_stage_merge(recipes, org=_org(org), channel=channel, metadata=metadata)
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        for o in result.outcomes:
            removed = "removed" if o.removed else "kept"
            print(f"{o.recipe}\t{o.state}\t{o.repo or '-'}\t{removed}\t{o.detail}")
    return 0 if result.ok else 1
