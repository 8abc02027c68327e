"""The bot's pure core: for one migration, where each feedstock stands and what to do next.

Readiness comes from what is published (a dependency's wheels for the new ABI on the channel),
never from whether its pull request was closed. Nothing here talks to GitHub or a channel: the
caller gathers the facts, ``plan`` decides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from smithy.recipe.model import normalize
from smithy.xbuildenv import XBuildEnv

RERUN_LABEL = "bot-rerun"
RERENDER_COMMAND = "@pyodide-smithy-bot please rerender"  # the feedstock's rerender.yml answers it
# The git identity of every commit the bot makes (the migration's rerender, and the rerender
# command's): a commit with another author or committer on a migration branch is a maintainer's.
BOT_NAME = "pyodide-smithy-bot"
BOT_EMAIL = "pyodide-smithy-bot@users.noreply.github.com"
ADMIN_REPO = "pyodide-smithy-admin"  # the org's admin repository; its Pages site is the status


def status_url_for(org: str) -> str:
    """Where the org's admin repository publishes ``bot status`` (GitHub Pages)."""
    return f"https://{org.lower()}.github.io/{ADMIN_REPO}/"


class State(StrEnum):
    UP_TO_DATE = "up-to-date"
    READY = "ready"  # a pull request should be opened (or refreshed) now
    PR_OPEN = "pr-open"
    MERGED_AWAITING_UPLOAD = "merged-awaiting-upload"
    AWAITING_DEPENDENCIES = "awaiting-dependencies"
    DECLINED = "declined"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class Feedstock:
    """What the bot reads of one feedstock on its default branch."""

    name: str  # repository name, e.g. "numpy-feedstock"
    outputs: tuple[str, ...]  # package names it publishes
    requires: tuple[str, ...]  # host and run requirement names of its recipe
    xbuildenv: str  # the pinned version
    migrations: bool = True
    prereleases: bool = False
    version: str = ""  # the recipe's package.version on the default branch
    source: str = ""  # the recipe's source.url ("" for a source.path recipe)
    source_sha256: str = ""  # the recipe's source.sha256
    version_updates: bool = True  # bot.version-updates
    version_prereleases: bool = False  # bot.version-prereleases
    versions: str = ""  # bot.versions: a PEP 440 specifier set new versions must satisfy
    automerge: bool = False  # bot.automerge
    has_tests: bool = False  # the recipe tests something (imports or test files) and CI runs it


@dataclass(frozen=True, kw_only=True)
class Pull:
    number: int
    open: bool
    merged: bool
    labels: tuple[str, ...] = ()
    url: str = ""
    ci: str | None = None  # the head commit's checks: success, failure, pending, error, …
    head: str = ""  # the head commit's sha when read: the bot pushes only over this one
    edited: bool = False  # it holds a commit the bot did not make: the bot leaves its branch alone


@dataclass(frozen=True, kw_only=True)
class Decision:
    feedstock: str
    state: State
    reason: str
    waiting_on: tuple[str, ...] = ()
    waited_for: tuple[str, ...] = ()  # ABI migrations: the dependencies whose wheels are out
    pull: Pull | None = None


@dataclass(frozen=True)
class Graph:
    """Feedstock -> the feedstocks of the org it depends on (host and run requirements)."""

    edges: Mapping[str, frozenset[str]]
    components: Mapping[str, frozenset[str]] = field(default_factory=dict)  # cycle members

    @classmethod
    def of(cls, feedstocks: Iterable[Feedstock]) -> Graph:
        stocks = list(feedstocks)
        owner = {normalize(out): f.name for f in stocks for out in f.outputs}
        edges = {
            f.name: frozenset(owner[normalize(r)] for r in f.requires if normalize(r) in owner)
            - {f.name}
            for f in stocks
        }
        return cls(edges, _strongly_connected(edges))

    def dependencies(self, name: str) -> frozenset[str]:
        """What ``name`` waits for: what its cycle (or itself alone) needs from outside it."""
        members = self.components.get(name, frozenset({name}))
        needed = frozenset().union(*(self.edges.get(m, frozenset()) for m in members))
        return needed - members

    def order(self) -> list[str]:
        """Dependencies first (cycles as one block), then by name: the order PRs open in."""
        depth: dict[str, int] = {}

        def level(name: str, seen: frozenset[str]) -> int:
            if name in depth:
                return depth[name]
            deps = [d for d in self.dependencies(name) if d not in seen]
            depth[name] = 1 + max((level(d, seen | {name}) for d in deps), default=-1)
            return depth[name]

        return sorted(self.edges, key=lambda n: (level(n, frozenset()), n))

    def held_back(self) -> dict[str, frozenset[str]]:
        """Feedstock -> every feedstock that depends on it, directly or through others (a
        cycle's members each other): what cannot move before it does. Only those with any."""
        dependents: dict[str, set[str]] = {}
        for name, deps in self.edges.items():
            for dep in deps:
                dependents.setdefault(dep, set()).add(name)
        out = {}
        for start in sorted(dependents):
            seen: set[str] = set()
            todo = [start]
            while todo:
                for after in dependents.get(todo.pop(), ()):
                    if after not in seen:
                        seen.add(after)
                        todo.append(after)
            seen.discard(start)
            if seen:
                out[start] = frozenset(seen)
        return out


def branch_for(target: XBuildEnv) -> str:
    """One fixed branch per (migration, feedstock): re-runs update it, never duplicate it."""
    return f"pyodide-smithy/xbuildenv-{target.version}"


def shard_of(name: str, shards: int) -> int:
    """A stable shard (``hash(name) mod N``, not Python's salted hash): runs never overlap."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % shards


def target_for(feedstock: Feedstock, stable: XBuildEnv, newest: XBuildEnv) -> XBuildEnv:
    """Pre-release xbuildenvs only for feedstocks that opted in."""
    return newest if feedstock.prereleases else stable


def plan(
    feedstocks: Iterable[Feedstock],
    *,
    target: XBuildEnv,
    current: Mapping[str, XBuildEnv],
    pulls: Mapping[str, Pull | None],
    published: Mapping[str, frozenset[str]],
    abi_of: Mapping[str, str],
    abi_migration: bool = False,
) -> list[Decision]:
    """Decide every feedstock's state for the migration to ``target``, in PR-opening order.

    ``current``: each feedstock's pinned xbuildenv; ``pulls``: the PR on the migration's branch;
    ``published``: normalised package name -> ABIs it has wheels for on the channel ("any" for
    pure wheels); ``abi_of``: xbuildenv version -> ABI; ``abi_migration``: the target changes
    the ABI the org built for, so a merged feedstock is done only once its wheels are out.
    """
    from packaging.version import Version

    stocks = {f.name: f for f in feedstocks}
    graph = Graph.of(stocks.values())
    new_abi = abi_of.get(target.version, "")
    decisions = []
    for name in graph.order():
        f = stocks[name]
        pull = pulls.get(name)
        pinned = current.get(name)
        abi_break = pinned is not None and target.abi_breaking_from(pinned)
        if not f.migrations:
            decisions.append(
                Decision(
                    feedstock=name,
                    state=State.DECLINED,
                    reason="opted out of migrations in pyodide-smithy.yml",
                )
            )
        elif Version(f.xbuildenv) >= Version(target.version):
            if abi_migration and not _published(f.outputs, new_abi, published):
                decisions.append(_awaiting_upload(f, pull))
            else:
                decisions.append(
                    Decision(
                        feedstock=name,
                        state=State.UP_TO_DATE,
                        reason=f"builds for xbuildenv {f.xbuildenv}",
                    )
                )
        elif pull is not None and pull.open:
            decisions.append(
                Decision(feedstock=name, state=State.PR_OPEN, reason=_open_reason(pull), pull=pull)
            )
        elif pull is not None and not pull.merged and RERUN_LABEL not in pull.labels:
            decisions.append(
                Decision(
                    feedstock=name,
                    state=State.DECLINED,
                    reason=f"pull request #{pull.number} was closed unmerged; label it "
                    f"{RERUN_LABEL} or re-open it to bring it back",
                    pull=pull,
                )
            )
        elif abi_break and (waiting := _waiting(name, graph, stocks, new_abi, published)):
            decisions.append(
                Decision(
                    feedstock=name,
                    state=State.AWAITING_DEPENDENCIES,
                    reason=f"ABI {new_abi}: waiting until {', '.join(waiting)} "
                    f"{'publishes' if len(waiting) == 1 else 'publish'} wheels for it",
                    waiting_on=waiting,
                    pull=pull,
                )
            )
        else:
            why = "ABI change, dependencies published" if abi_break else "new xbuildenv"
            decisions.append(
                Decision(
                    feedstock=name,
                    state=State.READY,
                    reason=f"{why}: open a pull request",
                    waited_for=tuple(sorted(graph.dependencies(name))) if abi_break else (),
                    pull=pull,
                )
            )
    return decisions


def made_by_bot(author_email: str | None, committer_email: str | None) -> bool:
    """Whether a commit's author and committer are both the bot's identity."""
    return all((e or "").strip().lower() == BOT_EMAIL for e in (author_email, committer_email))


def _open_reason(pull: Pull) -> str:
    if not pull.edited:
        return f"pull request #{pull.number} is open"
    if RERUN_LABEL in pull.labels:
        return (
            f"pull request #{pull.number} is open, edited by maintainers and labelled "
            f"{RERUN_LABEL}: the bot re-renders it on top of their commits"
        )
    return (
        f"pull request #{pull.number} is open, edited by maintainers: the bot leaves its branch "
        f"alone (comment `{RERENDER_COMMAND}` or label it {RERUN_LABEL} to re-render it)"
    )


def _waiting(
    name: str,
    graph: Graph,
    stocks: Mapping[str, Feedstock],
    abi: str,
    published: Mapping[str, frozenset[str]],
) -> tuple[str, ...]:
    return tuple(
        sorted(
            d for d in graph.dependencies(name) if not _published(stocks[d].outputs, abi, published)
        )
    )


def _published(outputs: Iterable[str], abi: str, published: Mapping[str, frozenset[str]]) -> bool:
    return all(bool(published.get(normalize(o), frozenset()) & {abi, "any"}) for o in outputs)


def _awaiting_upload(f: Feedstock, pull: Pull | None) -> Decision:
    return Decision(
        feedstock=f.name,
        state=State.MERGED_AWAITING_UPLOAD,
        reason="merged: waiting for CI to publish wheels for the new ABI",
        pull=pull,
    )


def _strongly_connected(edges: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Tarjan's algorithm: node -> the members of its cycle (itself alone when acyclic)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: dict[str, frozenset[str]] = {}
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, frozenset()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            members = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                members.append(w)
                if w == v:
                    break
            for m in members:
                out[m] = frozenset(members)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out
