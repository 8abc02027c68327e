"""Lint over all 332 real pyodide-recipes recipes: no crash, no error (``init`` accepts them all,
so an error here would be a check refusing recipes pyodide-build builds), and the table of what
it finds, kept in docs/lint.md (``pytest --update-golden`` rewrites it; ``-s`` prints it)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from smithy.lint.model import Level
from smithy.lint.rules import RULES
from smithy.lint.run import run_lint
from tests.conftest import ROOT

DOC = ROOT / "docs" / "lint.md"
START, END = "<!-- recipes-table:start -->", "<!-- recipes-table:end -->"


def survey(recipes_root: Path) -> str:
    """One row per rule: how many findings, in how many recipes, and a few of them."""
    findings: Counter[str] = Counter()
    recipes: dict[str, set[str]] = {rule.id: set() for rule in RULES}
    clean = 0
    folders = sorted(recipes_root.iterdir())
    assert len(folders) == 332
    for folder in folders:
        result = run_lint(folder)
        assert not result.errors, (folder.name, result.errors)
        clean += not result.findings
        for finding in result.findings:
            findings[finding.id] += 1
            recipes[finding.id].add(folder.name)
    rows = [
        "| id | name | level | findings | recipes | for example |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    for rule in RULES:
        names = sorted(recipes[rule.id], key=str.lower)
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        rows.append(
            f"| {rule.id} | `{rule.name}` | {rule.level.value} | {findings[rule.id]} "
            f"| {len(names)} | {shown} |"
        )
    total = sum(findings.values())
    errors = sum(findings[r.id] for r in RULES if r.level is Level.ERROR)
    rows.append(
        f"\n{total} findings ({errors} errors) over 332 recipes; {clean} recipes have none."
    )
    return "\n".join(rows)


def test_lint_over_all_332_real_recipes(recipes_root: Path, update_golden: bool) -> None:
    table = survey(recipes_root)
    print(f"\n{table}")
    text = DOC.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    assert pattern.search(text), f"docs/lint.md lacks the markers {START} ... {END}"
    fresh = pattern.sub(lambda _: f"{START}\n{table}\n{END}", text)
    if update_golden:
        DOC.write_text(fresh)
    assert DOC.read_text() == fresh, (
        "the 332-recipe table changed: check it, then `pytest --update-golden`"
    )
