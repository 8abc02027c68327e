"""Patches against the cached source: the build's own extract-and-patch, in a folder thrown away.

Runs only when the recipe's source is already in the source cache (after a build, or a
``pyodide-smithy build`` that failed later): lint never downloads.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from smithy.lint import rules
from smithy.lint.model import Finding
from smithy.lint.subject import Subject


def patches_apply(s: Subject) -> Iterator[Finding]:
    """Extract the cached sdist, apply the patches and copy the extras as ``build`` does."""
    from smithy.build.model import BuildError, read_spec
    from smithy.build.pure import Layout, prepare_sdist
    from smithy.build.source import cached_source
    from smithy.errors import RecipeError

    recipe = s.recipe
    if recipe is None or recipe.source_url is None or recipe.source_url.endswith(".whl"):
        return
    spec = read_spec(s.meta_path)
    if not spec.patches or spec.sha256 is None or len(spec.sha256.strip()) != 64:
        return
    archive = cached_source(spec.sha256.strip())
    if archive is None:
        return
    with tempfile.TemporaryDirectory(prefix="pyodide-smithy-lint-") as work:
        layout = Layout(work=Path(work), name=recipe.name, version=recipe.version)
        try:
            prepare_sdist(archive, recipe, spec, layout)
        except (BuildError, RecipeError) as exc:
            yield rules.PATCH_FAILS.at(
                s.file,
                exc.key or "source.patches",
                f"{archive.name} (cached): {exc.message}",
                "refresh the patch against this version's source, or drop it if upstream "
                "took the change; `pyodide-smithy build` fails the same way",
            )
