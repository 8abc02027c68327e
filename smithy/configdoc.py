"""The ``pyodide-smithy.yml`` reference page, written from the JSON Schema (docs/config.md)."""

from __future__ import annotations

import json
from typing import Any

from smithy.config import CONFIG_FILE, FeedstockConfig, json_schema, to_yaml


def reference_markdown() -> str:
    schema = json_schema()
    lines = [
        f"# `{CONFIG_FILE}` reference",
        "",
        "<!-- generated from the JSON Schema by `pytest --update-golden`; do not edit -->",
        "",
        f"Every feedstock has a `{CONFIG_FILE}` at its top. It belongs to the maintainers:",
        "`rerender` reads it and never rewrites it, except for the `xbuildenv` pin when",
        "`rerender --xbuildenv` moves it. Unknown keys are errors (with a *did you mean*), so a",
        "typo never passes silently. The machine-readable schema is",
        "[`pyodide-smithy.schema.json`](pyodide-smithy.schema.json)",
        "(also printed by `pyodide-smithy schema`).",
        "",
        "| key | type | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    lines += _rows(schema, prefix="", required=set(schema.get("required", [])))
    lines += [
        "",
        "## As `init` writes it",
        "",
        "```yaml",
        to_yaml(FeedstockConfig(xbuildenv="314.0.5")).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _rows(schema: dict[str, Any], prefix: str, required: set[str]) -> list[str]:
    rows = []
    for key, prop in schema["properties"].items():
        name = f"{prefix}{key}"
        if prop["type"] == "object":
            rows.append(f"| `{name}` | mapping | | {prop['description']} |")
            rows += _rows(prop, f"{name}.", set(prop.get("required", [])))
            continue
        default = "*required*" if key in required else f"`{json.dumps(prop.get('default'))}`"
        kind = prop["type"]
        if "pattern" in prop:
            kind += f" matching `{prop['pattern']}`".replace("|", "\\|")
        rows.append(f"| `{name}` | {kind} | {default} | {prop['description']} |")
    return rows
