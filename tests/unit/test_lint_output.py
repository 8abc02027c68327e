"""What lint prints: lines for people, JSON, GitHub annotations; golden output of a few recipes;
and the rules as docs/lint.md documents them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from smithy.errors import LintError
from smithy.lint import output
from smithy.lint.model import Finding, Level
from smithy.lint.rules import RULES
from smithy.lint.run import LintResult, run_lint
from tests.conftest import GOLDEN, ROOT
from tests.helpers import write_recipe

GOLDEN_LINT = GOLDEN / "lint"
DOC = ROOT / "docs" / "lint.md"
# Real recipes that show a spread of findings, and one written to break the error rules.
REAL = ("libxml", "libf2c", "aiohappyeyeballs", "openai", "pylimer-tools", "numpy")
BROKEN = """\
package:
  name: broken
  version: 1.10
source:
  url: https://github.com/o/broken/archive/refs/heads/main.tar.gz
  sha256: 0123
requirements:
  run: [six, six]
extra:
  recipe-maintainer: [me]
"""


def finding(**changes: object) -> Finding:
    fields: dict[str, object] = {
        "id": "PS203",
        "name": "sha256-format",
        "level": Level.ERROR,
        "file": "recipe/meta.yaml",
        "key": "source.sha256",
        "message": "source.sha256 'abc' is not a sha256 digest",
        "fix": "put the file's digest",
        "line": 6,
    }
    return Finding(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_line_for_people() -> None:
    assert output.line(finding()) == (
        "recipe/meta.yaml:6: PS203 error: source.sha256 'abc' is not a sha256 digest "
        "(fix: put the file's digest)"
    )
    assert output.line(finding(line=None, level=Level.HINT)).startswith(
        "recipe/meta.yaml: PS203 hint: "
    )


def test_annotations_carry_file_line_and_title() -> None:
    assert output.annotation(finding()) == (
        "::error file=recipe/meta.yaml,line=6,title=PS203 sha256-format::"
        "source.sha256 'abc' is not a sha256 digest (fix: put the file's digest)"
    )
    hint = output.annotation(finding(level=Level.HINT, line=None))
    assert hint.startswith("::notice file=recipe/meta.yaml,title=PS203 sha256-format::")


def test_annotations_escape_what_github_reads_as_syntax() -> None:
    text = output.annotation(finding(file="a,b:c.yaml", message="50%\nof it::"))
    assert text == (
        "::error file=a%2Cb%3Ac.yaml,line=6,title=PS203 sha256-format::"
        "50%25%0Aof it:: (fix: put the file's digest)"
    )


def test_summary_and_exit() -> None:
    clean = LintResult(path="x", findings=())
    assert output.summary(clean) == "x: no findings"
    clean.check()
    hints = LintResult(path="x", findings=(finding(level=Level.HINT),))
    assert output.summary(hints) == "x: 0 errors, 1 hint"
    hints.check()
    errors = LintResult(path="x", findings=(finding(), finding(), finding(level=Level.HINT)))
    assert output.summary(errors) == "x: 2 errors, 1 hint"
    with pytest.raises(LintError) as info:
        errors.check()
    assert (info.value.message, info.value.file, info.value.exit_code) == (
        "lint found 2 errors",
        "x",
        19,
    )


def test_json_keys() -> None:
    data = json.loads(output.to_json(LintResult(path="x", findings=(finding(),))))
    assert data == {
        "path": "x",
        "errors": 1,
        "hints": 0,
        "findings": [
            {
                "id": "PS203",
                "name": "sha256-format",
                "level": "error",
                "file": "recipe/meta.yaml",
                "line": 6,
                "key": "source.sha256",
                "message": "source.sha256 'abc' is not a sha256 digest",
                "fix": "put the file's digest",
            }
        ],
    }


def check_golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN_LINT / name
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.read_text() == text, (
        "lint's output changed: check it, then `pytest --update-golden`"
    )


@pytest.mark.parametrize("name", REAL)
def test_golden_output_of_real_recipes(
    name: str, recipes_root: Path, monkeypatch: pytest.MonkeyPatch, update_golden: bool
) -> None:
    monkeypatch.chdir(recipes_root)
    check_golden(f"{name}.txt", output.text(run_lint(Path(name))) + "\n", update_golden)


def test_golden_output_of_a_broken_recipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, update_golden: bool
) -> None:
    write_recipe(tmp_path / "broken", BROKEN)
    monkeypatch.chdir(tmp_path)
    result = run_lint(Path("broken"))
    assert len(result.errors) == 3
    check_golden("broken.txt", output.text(result) + "\n", update_golden)
    check_golden("broken.json", output.to_json(result) + "\n", update_golden)


def test_ids_are_unique_stable_in_shape_and_each_documented() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids)) == len({rule.name for rule in RULES})
    assert all(re.fullmatch(r"PS[0-6][0-9]{2}", i) for i in ids), ids
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name) for rule in RULES)
    documented = re.findall(
        r"^### (PS\d{3}) `([a-z0-9-]+)` \((error|hint)\)$", DOC.read_text(), re.M
    )
    assert documented == [(r.id, r.name, r.level.value) for r in sorted(RULES, key=lambda r: r.id)]
