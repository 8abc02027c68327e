"""``bot import``: a pyodide-recipes checkout becomes registered feedstocks of an org.

Stateless, so that a re-run resumes a run that was killed: what exists is read from GitHub each
time. A recipe whose feedstock is missing gets ``init`` then ``register-github``; an existing
one is compared with the recipe (recipe/meta.yaml, same or differs) and, when it holds the
recipe but register-github did not get through (a run stopped between its steps), completed.
A repository is never created twice: GitHub refuses a second one of the same name anyway.
Several recipes at once (a few: GitHub's secondary rate limits punish concurrent writes),
libraries first, then dependencies before what needs them.
"""

from __future__ import annotations

import heapq
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smithy import console
from smithy.bot.bulk_github import Existing
from smithy.bot.bulk_recipes import RecipeEntry
from smithy.errors import SmithyError, UsageError
from smithy.github.client import GitHubClient

CREATED, COMPLETED, FAILED = "created", "completed", "failed"
MATCHES, DIFFERS = "exists-matches", "exists-differs"
WOULD_CREATE, WOULD_COMPLETE = "would-create", "would-complete"
OUTCOMES = (CREATED, COMPLETED, MATCHES, DIFFERS, FAILED)
DRY_OUTCOMES = (WOULD_CREATE, WOULD_COMPLETE, MATCHES, DIFFERS, FAILED)


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    org: str
    jobs: int = 4
    dry_run: bool = False
    upload_token: str | None = None  # stored as each repository's Actions secret
    xbuildenv: str | None = None
    metadata: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one recipe."""

    recipe: str  # its folder's name
    package: str
    repo: str  # ORG/<name>-feedstock
    library: bool
    outcome: str
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "package": self.package,
            "repo": self.repo,
            "library": self.library,
            "outcome": self.outcome,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ImportResult:
    org: str
    recipes_dir: str
    dry_run: bool
    outcomes: tuple[Outcome, ...]  # in import order
    seconds: float

    @property
    def failed(self) -> bool:
        return any(o.outcome == FAILED for o in self.outcomes)

    def totals(self) -> dict[str, int]:
        tally = Counter(o.outcome for o in self.outcomes)
        return {key: tally[key] for key in (DRY_OUTCOMES if self.dry_run else OUTCOMES)}

    def to_json(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "recipes_dir": self.recipes_dir,
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 2),
            "totals": self.totals(),
            "recipes": [o.to_json() for o in self.outcomes],
        }


def run_import(
    recipes_dir: Path,
    options: ImportOptions,
    *,
    on_done: Callable[[Outcome], None] | None = None,
) -> ImportResult:
    """Import every recipe of ``recipes_dir`` into ``options.org``; ``on_done`` hears of each
    recipe as it finishes (from the calling thread)."""
    from smithy.bot.bulk_github import read_existing
    from smithy.bot.bulk_recipes import import_order, scan
    from smithy.bot.github_view import list_repos
    from smithy.github.access import check_access
    from smithy.github.client import make_client

    start = time.perf_counter()
    _check_channel(options.channel)
    order, after = import_order(scan(recipes_dir))
    with tempfile.TemporaryDirectory(prefix="smithy-import-") as tmp:
        work = _Importer(options, Path(tmp))
        client = make_client()
        listed = list_repos(client, options.org)
        # Before anything is made: credentials that cannot register would fail every recipe.
        first = f"{options.org}/{order[0].feedstock}"
        check_access(client, first, None, secret=bool(options.upload_token))
        wanted = {e.feedstock.lower() for e in order}
        ours = [r for r in listed if r.name.lower() in wanted]
        work.existing = read_existing(client, options.org, ours)
        with console.hushed():
            done = _run_all(order, after, work.act, options.jobs, on_done or (lambda _: None))
    return ImportResult(
        org=options.org,
        recipes_dir=str(recipes_dir),
        dry_run=options.dry_run,
        outcomes=tuple(done),
        seconds=time.perf_counter() - start,
    )


def _check_channel(channel: str | None) -> None:
    """``--channel`` checked once, as ``init`` checks it for each recipe."""
    import re

    from smithy.config import CHANNEL_PATTERN, CHANNEL_RULE

    if channel is not None and not re.fullmatch(CHANNEL_PATTERN, channel):
        raise UsageError(f"--channel must be {CHANNEL_RULE}, not {channel!r}", key="--channel")


@dataclass
class _Importer:
    """One recipe's import, run by the pool's threads, each with its own GitHub client."""

    options: ImportOptions
    work: Path
    existing: Mapping[str, Existing] = field(default_factory=dict)
    metadata: str | None = None
    xbuildenv: str | None = None
    local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        from smithy.xbuildenv import load_catalog

        # Read once: ``init`` would read an explicit metadata URL again for every recipe.
        self.metadata = _metadata_file(self.options.metadata, self.work)
        self.xbuildenv = load_catalog(self.metadata).resolve(self.options.xbuildenv).version

    def client(self) -> GitHubClient:
        if (client := getattr(self.local, "client", None)) is None:
            from smithy.github.client import make_client

            client = self.local.client = make_client()
        return client

    def act(self, entry: RecipeEntry) -> Outcome:
        try:
            outcome, reason = self._act(entry)
        except SmithyError as exc:
            outcome, reason = FAILED, (str(exc).splitlines() or ["failed"])[0]
        repo = f"{self.options.org}/{entry.feedstock}"
        return Outcome(entry.folder.name, entry.package, repo, entry.library, outcome, reason)

    def _act(self, entry: RecipeEntry) -> tuple[str, str]:
        from smithy.bot.bulk_github import is_empty, same_recipe, unfinished

        dry = self.options.dry_run
        if entry.problem is not None:
            return FAILED, entry.problem
        found = self.existing.get(entry.feedstock.lower())
        if found is None:
            if dry:
                from smithy.recipe.load import load_recipe

                load_recipe(entry.folder)  # a recipe init would refuse fails here too
                return WOULD_CREATE, ""
            return self._register(entry, None), ""
        if found.meta is not None:
            if not same_recipe(found.meta, entry.meta):
                return DIFFERS, "its recipe/meta.yaml is not the recipe's"
            secret = bool(self.options.upload_token)
            missing = unfinished(self.client(), found, secret=secret)
            if not missing:
                return MATCHES, ""
            reason = f"registration unfinished: {', '.join(missing)}"
            return (WOULD_COMPLETE, reason) if dry else (self._register(entry, found), reason)
        if not is_empty(self.client(), found):
            return DIFFERS, "it holds no recipe/meta.yaml"
        reason = "registration unfinished: nothing pushed"
        return (WOULD_COMPLETE, reason) if dry else (self._register(entry, None), reason)

    def _register(self, entry: RecipeEntry, found: Existing | None) -> str:
        """init (or, for a repository that holds the recipe already, a clone of it), then
        register-github; ``created`` or ``completed`` as GitHub had it."""
        from smithy.bot.bulk_github import clone
        from smithy.feedstock.init import run_init
        from smithy.github.register import run_register

        folder = self.work / entry.feedstock
        try:
            if found is not None:
                clone(self.client(), found, folder)
            else:
                run_init(
                    str(entry.folder),
                    output=folder,
                    xbuildenv=self.xbuildenv,
                    metadata=self.metadata,
                    channel=self.options.channel,
                    from_source=True,  # the recipe as it is: what exists-matches compares
                )
            result = run_register(
                folder,
                org=self.options.org,
                secret_token=self.options.upload_token,
                client=self.client(),
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return CREATED if result.created else COMPLETED


def _metadata_file(metadata: str | None, work: Path) -> str | None:
    """An explicit xbuildenv metadata URL saved once into ``work``; anything else as given
    (a file is cheap to read again, the default URL is cached)."""
    if metadata is None or not metadata.startswith(("http://", "https://")):
        return metadata
    from smithy import http

    path = work / "xbuildenv-metadata.json"
    path.write_bytes(http.get(metadata, what="the xbuildenv metadata").content)
    return str(path)


def _run_all(
    order: Sequence[RecipeEntry],
    after: Mapping[str, frozenset[str]],
    act: Callable[[RecipeEntry], Outcome],
    jobs: int,
    on_done: Callable[[Outcome], None],
) -> list[Outcome]:
    """``act`` on every entry, ``jobs`` at once; an entry starts once those ``after`` names
    for it are done (whatever became of them), earliest in ``order`` first. The outcomes in
    ``order``."""
    position = {e.feedstock: i for i, e in enumerate(order)}
    waiting = {e.feedstock: set(after.get(e.feedstock, ())) for e in order}
    dependents: dict[str, list[str]] = {}
    for name, needs in waiting.items():
        for need in needs:
            dependents.setdefault(need, []).append(name)
    ready = [position[name] for name, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    done: dict[int, Outcome] = {}
    running: dict[Future[Outcome], str] = {}
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="import") as pool:
        try:
            while ready or running:
                while ready and len(running) < jobs:
                    entry = order[heapq.heappop(ready)]
                    running[pool.submit(act, entry)] = entry.feedstock
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: position[running[f]]):
                    name = running.pop(future)
                    done[position[name]] = future.result()
                    on_done(done[position[name]])
                    for dependent in dependents.get(name, ()):
                        waiting[dependent].discard(name)
                        if not waiting[dependent]:
                            heapq.heappush(ready, position[dependent])
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [done[i] for i in sorted(done)]
