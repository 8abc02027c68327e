"""Where every feedstock of an org stands: what ``bot run`` acts on and ``bot status`` shows.

Reads GitHub (the feedstocks and their migration PRs, one GraphQL query per 100 repositories)
and, for ABI migrations, the channel; the decisions themselves come from the pure ``plan``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from smithy.bot.github_view import FeedstockView, list_repos, published_abis, read_feedstocks
from smithy.bot.plan import Decision, Graph, State, branch_for, plan, target_for
from smithy.errors import SmithyError

if TYPE_CHECKING:
    from smithy.channel.model import Channel
    from smithy.github.client import GitHubClient
    from smithy.xbuildenv import Catalog, XBuildEnv

DEFAULT_CHANNEL = "anaconda://pyodide"


@dataclass(frozen=True)
class Survey:
    org: str
    views: dict[str, FeedstockView]  # feedstock name -> what was read of it
    targets: dict[str, XBuildEnv]  # feedstock name -> the xbuildenv it migrates to
    current: dict[str, XBuildEnv]  # feedstock name -> its pinned xbuildenv, when known
    decisions: list[Decision]  # in PR-opening order, then the unreadable feedstocks
    graph: Graph  # dependencies between the readable feedstocks
    default_target: XBuildEnv  # the stable target (unreadable feedstocks are counted under it)
    unreadable_urls: dict[str, str]  # unreadable feedstock -> the file at fault on GitHub
    abi_moves: dict[str, bool]  # target version -> its ABI differs from the previous stable's
    catalog: Catalog | None = None  # the xbuildenvs it was planned with


def read_org(
    org: str, *, xbuildenv: str | None, metadata: str | None, channel: str | None
) -> tuple[GitHubClient, Survey]:
    """The catalogue, the channel (opened first: a wrong one fails before GitHub is read), the
    GitHub client (the App's key leaves the environment as it is made), and the survey of
    ``org`` made with them."""
    from smithy.channel.open import existing, open_channel
    from smithy.github.client import make_client
    from smithy.xbuildenv import load_catalog

    catalog = load_catalog(metadata)
    wheels = existing(open_channel(channel or DEFAULT_CHANNEL))  # read only for ABI migrations
    client = make_client(forget_key=True)
    return client, survey(client, org, catalog, xbuildenv=xbuildenv, channel=wheels)


def survey(
    client: GitHubClient,
    org: str,
    catalog: Catalog,
    *,
    xbuildenv: str | None,
    channel: Channel,
) -> Survey:
    """Read ``org`` and decide each feedstock's state for its migration target: the newest
    stable xbuildenv (pre-release for feedstocks that opted in), or ``xbuildenv``."""
    if xbuildenv in (None, "latest"):
        stable, newest = catalog.latest(), catalog.latest(prereleases=True)
    else:
        stable = newest = catalog.get(xbuildenv)
    branches = list(dict.fromkeys(branch_for(t) for t in (stable, newest)))
    views, unreadable = read_feedstocks(client, org, list_repos(client, org), branches)
    by_name = {v.feedstock.name: v for v in views}
    targets = {v.feedstock.name: target_for(v.feedstock, stable, newest) for v in views}
    pulls = {n: v.pulls.get(branch_for(targets[n])) for n, v in by_name.items()}
    current = {n: env for n, v in by_name.items() if (env := _known(catalog, v))}
    stocks = [v.feedstock for v in views]

    releases = {t.version: t for t in [*targets.values(), stable]}
    abi_moves = {
        v: (before := catalog.previous_stable(t)) is not None and t.abi_breaking_from(before)
        for v, t in releases.items()
    }
    decisions: list[Decision] = []
    published: dict[str, frozenset[str]] | None = None
    from smithy.platform import abi_of

    for target in dict.fromkeys(targets.values()):
        members = {n for n, t in targets.items() if t == target}
        # ABI-breaking when the release moves the ABI (then a merged feedstock is done only once
        # its wheels are out, also after every feedstock merged) or a member is on an older ABI.
        abi_migration = abi_moves[target.version] or any(
            target.abi_breaking_from(current[n]) for n in members if n in current
        )
        if abi_migration and published is None:
            published = published_abis(channel, [o for f in stocks for o in f.outputs])
        group = plan(
            stocks,
            target=target,
            current=current,
            pulls=pulls,
            published=published or {},
            abi_of={target.version: abi_of(target)},
            abi_migration=abi_migration,
        )
        decisions += [d for d in group if d.feedstock in members]
    decisions += [
        Decision(feedstock=u.repo.name, state=State.FAILED, reason=u.reason) for u in unreadable
    ]
    urls = {
        u.repo.name: f"{u.repo.html_url}/blob/HEAD/{u.file}" if u.file else u.repo.html_url
        for u in unreadable
    }
    graph = Graph.of(stocks)
    return Survey(
        org, by_name, targets, current, decisions, graph, stable, urls, abi_moves, catalog
    )


def _known(catalog: Catalog, view: FeedstockView) -> XBuildEnv | None:
    try:
        return catalog.get(view.feedstock.xbuildenv)
    except SmithyError:
        return None
