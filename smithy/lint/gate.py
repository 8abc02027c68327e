"""The recipe checks, and the gate ``init`` and ``rerender`` pass through: an error-level
finding stops them, before anything is written, with that finding's one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from smithy.lint import checks_about, checks_build, checks_source
from smithy.lint.model import Finding, Level
from smithy.lint.subject import Subject

if TYPE_CHECKING:
    from smithy.recipe.model import Recipe

# Pure functions of the Subject: no network, no cache, no other file.
RECIPE_CHECKS = (*checks_about.CHECKS, *checks_source.CHECKS, *checks_build.CHECKS)


def recipe_findings(subject: Subject) -> Iterator[Finding]:
    for check in RECIPE_CHECKS:
        yield from check(subject)


def refuse_errors(meta_path: Path, recipe: Recipe) -> None:
    """Raise the first error-level finding of a recipe ``load_recipe`` accepted, as a
    :class:`~smithy.errors.LintError` naming the file and key (``init``, ``rerender``)."""
    from smithy.errors import LintError, RecipeError
    from smithy.lint.reading import compose, read_text
    from smithy.yamlio import load_yaml_text

    text = read_text(meta_path, RecipeError)
    data = load_yaml_text(text, meta_path, error=RecipeError)
    subject = Subject(
        meta_path=meta_path, file=str(meta_path), data=data, tree=compose(text), recipe=recipe
    )
    for finding in recipe_findings(subject):
        if finding.level is Level.ERROR:
            raise LintError(
                f"{finding.id} {finding.name}: {finding.message} (fix: {finding.fix})",
                file=meta_path,
                key=finding.key,
            )
