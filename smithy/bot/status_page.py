"""The status report as one self-contained HTML page: a filterable table and the dependency
order drawn as a layered graph (laid out here, drawn as inline SVG; no script or style is
fetched from anywhere)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smithy.bot.status import RETIRE_NOTE, STATES, MigrationStatus, StatusReport

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


@dataclass(frozen=True)
class Node:
    name: str
    state: str
    x: int
    y: int


@dataclass(frozen=True)
class Edge:
    path: str  # SVG path data, from the dependency to the dependent
    source: str
    target: str


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    hidden: int  # feedstocks with no dependency edge in the org, not drawn


def layout(migration: MigrationStatus) -> Drawing:
    """Columns by depth in the dependency order (what must publish first on the left)."""
    members = {f.name: f for f in migration.feedstocks}
    deps = {n: [d for d in f.depends_on if d in members and d != n] for n, f in members.items()}
    linked = {n for n, ds in deps.items() if ds} | {d for ds in deps.values() for d in ds}
    depth: dict[str, int] = {}

    def level(name: str, path: frozenset[str]) -> int:
        if name not in depth:
            inner = [level(d, path | {name}) for d in deps[name] if d not in path]
            depth[name] = 1 + max(inner, default=-1)
        return depth[name]

    columns: dict[int, list[str]] = {}
    for name in sorted(linked):
        columns.setdefault(level(name, frozenset()), []).append(name)
    place: dict[str, tuple[int, int]] = {}
    for col, names in columns.items():
        for row, name in enumerate(names):
            place[name] = (PAD + col * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    nodes = tuple(Node(n, members[n].state, *place[n]) for n in sorted(place))
    edges = []
    for name in sorted(place):
        x2, y2 = place[name]
        for dep in deps[name]:
            x1, y1 = place[dep]
            sx, sy, ex, ey = x1 + NODE_W, y1 + NODE_H // 2, x2, y2 + NODE_H // 2
            if ex <= sx:  # same column (a cycle): loop around the right-hand side
                bend = max(sx, ex + NODE_W) + GAP_X // 2
                d = f"M{sx},{sy} C{bend},{sy} {bend},{ey} {ex + NODE_W},{ey}"
            else:
                mid = (sx + ex) // 2
                d = f"M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}"
            edges.append(Edge(d, dep, name))
    width = PAD * 2 + max((x for x, _ in place.values()), default=0) + NODE_W + GAP_X // 2
    height = PAD * 2 + max((y for _, y in place.values()), default=0) + NODE_H
    return Drawing(width, height, nodes, tuple(edges), len(members) - len(place))


def render_page(report: StatusReport) -> str:
    import jinja2

    env = jinja2.Environment(
        autoescape=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    template = env.from_string(TEMPLATE.read_text(encoding="utf-8"))
    drawings = {m.xbuildenv: layout(m) for m in report.migrations}
    variables: dict[str, Any] = {
        "report": report,
        "states": STATES,
        "colours": COLOURS,
        "drawings": drawings,
        "node_w": NODE_W,
        "node_h": NODE_H,
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
