"""The bot's pure core: states, ABI order from what is published, cycles, shards."""

from __future__ import annotations

from collections.abc import Mapping

from smithy.bot.github_view import platform_abis, published_abis
from smithy.bot.plan import (
    Decision,
    Feedstock,
    Graph,
    Pull,
    State,
    branch_for,
    plan,
    shard_of,
    target_for,
)
from smithy.channel.model import ChannelFile
from smithy.xbuildenv import XBuildEnv, load_catalog
from tests.conftest import METADATA

CATALOG = load_catalog(str(METADATA))
OLD, STABLE, NEXT = CATALOG.get("314.0.4"), CATALOG.get("314.0.5"), CATALOG.get("315.0.0a2")
ABI = {"314.0.4": "2026_0", "314.0.5": "2026_0", "315.0.0a2": "2026_5"}


def stock(
    name: str,
    requires: tuple[str, ...] = (),
    xbuildenv: str = "314.0.4",
    *,
    migrations: bool = True,
    prereleases: bool = False,
) -> Feedstock:
    return Feedstock(
        name=f"{name}-feedstock",
        outputs=(name,),
        requires=requires,
        xbuildenv=xbuildenv,
        migrations=migrations,
        prereleases=prereleases,
    )


ORG = [
    stock("numpy"),
    stock("scipy", ("numpy", "libopenblas")),
    stock("libopenblas"),
    stock("pandas", ("numpy", "python-dateutil")),
    stock("a", ("b",)),
    stock("b", ("a", "numpy")),
    stock("six"),
]


def states(decisions: list[Decision]) -> dict[str, tuple[State, tuple[str, ...]]]:
    return {d.feedstock.removesuffix("-feedstock"): (d.state, d.waiting_on) for d in decisions}


def run(
    target: XBuildEnv = NEXT,
    pulls: Mapping[str, Pull | None] | None = None,
    published: Mapping[str, frozenset[str]] | None = None,
    org: list[Feedstock] = ORG,
    abi_migration: bool = False,
) -> list[Decision]:
    current = {f.name: CATALOG.get(f.xbuildenv) for f in org}
    return plan(
        org,
        target=target,
        current=current,
        pulls=pulls or {},
        published=published or {},
        abi_of=ABI,
        abi_migration=abi_migration,
    )


def test_non_abi_bump_opens_everywhere_at_once() -> None:
    decided = states(run(target=STABLE))
    assert {s for s, _ in decided.values()} == {State.READY}


def test_abi_bump_goes_in_dependency_order_by_what_is_published() -> None:
    decided = states(run())
    assert decided["numpy"] == (State.READY, ())
    assert decided["libopenblas"] == (State.READY, ())
    assert decided["six"] == (State.READY, ())
    assert decided["scipy"] == (
        State.AWAITING_DEPENDENCIES,
        ("libopenblas-feedstock", "numpy-feedstock"),
    )
    # a cycle goes together; only what is outside it is waited for
    assert decided["a"] == (State.AWAITING_DEPENDENCIES, ("numpy-feedstock",))
    assert decided["b"] == (State.AWAITING_DEPENDENCIES, ("numpy-feedstock",))
    # python-dateutil is not in the org: nothing to wait for but numpy
    assert decided["pandas"] == (State.AWAITING_DEPENDENCIES, ("numpy-feedstock",))


def test_a_closed_dependency_pr_is_not_enough_a_published_wheel_is() -> None:
    closed = {"numpy-feedstock": Pull(number=1, open=False, merged=True)}
    assert states(run(pulls=closed))["pandas"][0] is State.AWAITING_DEPENDENCIES
    published = {"numpy": frozenset({"2026_5"}), "libopenblas": frozenset({"any"})}
    decided = states(run(pulls=closed, published=published))
    assert decided["pandas"] == (State.READY, ())
    assert decided["scipy"] == (State.READY, ())
    assert decided["a"] == (State.READY, ())


def test_pr_states_declines_and_rerun() -> None:
    pulls = {
        "numpy-feedstock": Pull(number=4, open=True, merged=False),
        "six-feedstock": Pull(number=5, open=False, merged=False),
        "libopenblas-feedstock": Pull(number=6, open=False, merged=False, labels=("bot-rerun",)),
    }
    decided = states(run(pulls=pulls))
    assert decided["numpy"][0] is State.PR_OPEN
    assert decided["six"][0] is State.DECLINED
    assert decided["libopenblas"][0] is State.READY


def test_opt_out_and_up_to_date_and_merged_awaiting_upload() -> None:
    org = [
        stock("numpy", xbuildenv="315.0.0a2"),
        stock("six", migrations=False),
        stock("pure", xbuildenv="315.0.0a2"),
    ]
    published = {"pure": frozenset({"any"})}
    decided = states(run(org=org, published=published, abi_migration=True))
    assert decided["numpy"][0] is State.MERGED_AWAITING_UPLOAD
    assert decided["pure"][0] is State.UP_TO_DATE
    assert decided["six"][0] is State.DECLINED
    assert states(run(org=org))["numpy"][0] is State.UP_TO_DATE


def test_order_puts_dependencies_first() -> None:
    order = Graph.of(ORG).order()
    assert order.index("numpy-feedstock") < order.index("pandas-feedstock")
    assert order.index("libopenblas-feedstock") < order.index("scipy-feedstock")


def test_prereleases_only_when_opted_in() -> None:
    assert target_for(stock("x"), STABLE, NEXT) == STABLE
    assert target_for(stock("x", prereleases=True), STABLE, NEXT) == NEXT


def test_branch_and_shards() -> None:
    assert branch_for(NEXT) == "pyodide-smithy/xbuildenv-315.0.0a2"
    names = [f"pkg{i}-feedstock" for i in range(300)]
    shards = [shard_of(n, 4) for n in names]
    assert shards == [shard_of(n, 4) for n in names]  # stable across calls and processes
    assert set(shards) == {0, 1, 2, 3}
    assert shard_of("numpy-feedstock", 4) == 2  # pinned: sha256, not Python's salted hash()


class ListedChannel:
    """A channel that only lists files (all ``published_abis`` reads)."""

    description = "listed"

    def __init__(self, *listed: tuple[str, tuple[str, ...]]) -> None:
        self.listed = [self._file(name, labels) for name, labels in listed]

    @staticmethod
    def _file(name: str, labels: tuple[str, ...]) -> ChannelFile:
        package, version = name.split("-")[:2]
        return ChannelFile(
            package=package, version=version, filename=name, sha256="", size=0,
            labels=labels, upload_time="",
        )  # fmt: skip

    def files(self, package: str | None = None) -> list[ChannelFile]:
        return [f for f in self.listed if package is None or f.project == package]


def test_a_library_wheel_publishes_its_feedstock_for_its_abi() -> None:
    """``py3-none-pyemscripten_<abi>_wasm32``: no Python ABI, but the Pyodide ABI counts."""
    library = "libx-1.0-0-py3-none-pyemscripten_2026_5_wasm32.whl"
    assert platform_abis(library) == {"2026_5"}
    channel = ListedChannel(
        (library, ("main",)),
        ("libx-1.0-1-py3-none-pyemscripten_2026_0_wasm32.whl", ("main",)),
        ("liby-1.0-0-py3-none-pyemscripten_2026_5_wasm32.whl", ("staging",)),  # not main
    )
    published = published_abis(channel, ["libx", "liby"])  # type: ignore[arg-type]
    assert published == {"libx": frozenset({"2026_5", "2026_0"}), "liby": frozenset()}
    org = [
        stock("libx", xbuildenv="315.0.0a2"),  # merged; its wheel for the new ABI is out
        stock("liby", xbuildenv="315.0.0a2"),  # merged; only on staging
        stock("scipy", ("numpy", "libx")),
        stock("h5py", ("liby",)),
    ]
    decided = {d.feedstock: d for d in run(org=org, published=published, abi_migration=True)}
    assert decided["libx-feedstock"].state is State.UP_TO_DATE
    assert decided["liby-feedstock"].state is State.MERGED_AWAITING_UPLOAD
    assert decided["scipy-feedstock"].state is State.READY
    assert decided["scipy-feedstock"].waited_for == ("libx-feedstock",)
    assert decided["h5py-feedstock"].state is State.AWAITING_DEPENDENCIES
    assert decided["h5py-feedstock"].waiting_on == ("liby-feedstock",)


def test_held_back_follows_dependents_transitively_and_through_cycles() -> None:
    held = Graph.of(ORG).held_back()
    assert held["numpy-feedstock"] == {"scipy-feedstock", "pandas-feedstock", "a-feedstock",
                                       "b-feedstock"}  # fmt: skip
    assert held["libopenblas-feedstock"] == {"scipy-feedstock"}
    assert held["a-feedstock"] == {"b-feedstock"}  # a cycle: each holds back the other
    assert held["b-feedstock"] == {"a-feedstock"}
    assert "six-feedstock" not in held  # nothing depends on it
    assert "scipy-feedstock" not in held
    chain = Graph({"c": frozenset({"b"}), "b": frozenset({"a"}), "a": frozenset()})
    assert chain.held_back() == {"a": {"b", "c"}, "b": {"c"}}
    assert Graph({}).held_back() == {}
