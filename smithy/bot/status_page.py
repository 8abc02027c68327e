"""The status report as one self-contained HTML page: per migration a progress bar, the biggest
blockers and the graph of how they chain; the feedstocks behind upstream; a filterable table;
a selected feedstock's own graph. What each graph holds is decided here; the page's script lays
it out and draws it (inline SVG). No script or style is fetched from anywhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from smithy.bot.plan import Graph
from smithy.bot.status import (
    PROGRESS,
    PROGRESS_LABELS,
    RETIRE_NOTE,
    STATES,
    Blocker,
    MigrationStatus,
    StatusReport,
)

TEMPLATE = Path(__file__).with_name("status.html.j2")
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 190, 22, 70, 8, 10
COLOURS = {
    "up-to-date": "#1a7f37",
    "ready": "#0969da",
    "pr-open": "#8250df",
    "merged-awaiting-upload": "#9a6700",
    "awaiting-dependencies": "#bc4c00",
    "declined": "#6e7781",
    "failed": "#cf222e",
}
PART_COLOURS = {
    "done": COLOURS["up-to-date"],
    "in-pr": COLOURS["pr-open"],
    "waiting": COLOURS["awaiting-dependencies"],
    "declined": COLOURS["declined"],
    "failed": COLOURS["failed"],
}
TOP = 10  # blockers listed before "more"
GRAPH_TOP = 25  # blockers drawn


def reduced(deps: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """``deps`` without the edges a longer path implies (a -> c when a -> b -> c): fewer lines,
    the same order. Edges within a cycle stay."""
    edges = {n: frozenset(ds) for n, ds in deps.items()}
    reach: dict[str, set[str]] = {}  # what each needs, directly or through others
    for dep, waiting in Graph(edges).held_back().items():
        for name in waiting:
            reach.setdefault(name, set()).add(dep)

    def implied(name: str, dep: str) -> bool:
        return any(
            dep in reach.get(o, ()) and o not in reach.get(dep, ()) and name not in reach.get(o, ())
            for o in edges[name]
            if o != dep
        )

    return {n: tuple(sorted(d for d in ds if not implied(n, d))) for n, ds in edges.items()}


def blocking_part(migration: MigrationStatus, blockers: Sequence[Blocker]) -> dict[str, Any]:
    """The graph of the biggest blockers (``GRAPH_TOP``): how many each holds back, and what
    waits on what among them (implied lines left out). Whatever lies on a chain between two of
    them holds back more than the later one, so it is among them too."""
    states = {f.name for f in migration.feedstocks}
    held = {b.name: len(b.holds_back) for b in blockers[:GRAPH_TOP] if b.name in states}
    waits = {f.name: [w for w in f.waiting_on if w in held] for f in migration.feedstocks}
    return {"held": held, "deps": reduced({n: waits[n] for n in held})}


def graph_data(
    report: StatusReport, blockers: Mapping[str, Sequence[Blocker]] | None = None
) -> dict[str, Any]:
    """What the page's script draws its graphs from: per migration the biggest blockers'
    graph; per feedstock with a dependency or a dependent in its migration its state and
    dependencies (implied ones left out), for a selected feedstock's graph; the sizes."""
    nodes: dict[str, list[Any]] = {}
    blocking = {}
    for m in report.migrations:
        states = {f.name: f.state for f in m.feedstocks}
        deps = {f.name: [d for d in f.depends_on if d in states and d != f.name]
                for f in m.feedstocks}  # fmt: skip
        linked = {n for n, ds in deps.items() if ds} | {d for ds in deps.values() for d in ds}
        edges = reduced({n: deps[n] for n in linked})
        nodes |= {n: [states[n], list(edges[n])] for n in sorted(linked)}
        ranked = blockers[m.xbuildenv] if blockers is not None else m.blockers()
        blocking[m.xbuildenv] = blocking_part(m, ranked)
    size = [NODE_W, NODE_H, GAP_X, GAP_Y, PAD]
    return {"nodes": nodes, "blocking": blocking, "size": size, "colours": COLOURS}


def render_page(report: StatusReport) -> str:
    import jinja2

    env = jinja2.Environment(
        autoescape=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    blockers = {m.xbuildenv: m.blockers() for m in report.migrations}
    variables: dict[str, Any] = {
        "report": report,
        "states": STATES,
        "colours": COLOURS,
        "parts": PROGRESS,
        "part_labels": PROGRESS_LABELS,
        "part_colours": PART_COLOURS,
        "blockers": blockers,
        "top": TOP,
        "graph_top": GRAPH_TOP,
        "stocks": {m.xbuildenv: {f.name: f for f in m.feedstocks} for m in report.migrations},
        "graph_data": graph_data(report, blockers),
        "behind": report.behind(),
        "with_version": sum(1 for m in report.migrations for f in m.feedstocks if f.version),
        "retire_note": RETIRE_NOTE,
    }
    return template.render(variables)


def write_site(report: StatusReport, folder: Path) -> Path:
    """``index.html`` and ``status.json`` into ``folder``, each written whole (temp + rename)."""
    import json

    from smithy.fsutil import write_atomic

    page = render_page(report).encode()  # rendered before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "status.json", (json.dumps(report.to_json(), indent=2) + "\n").encode())
    index = folder / "index.html"
    write_atomic(index, page)
    return index
