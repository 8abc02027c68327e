"""Small helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smithy.config import FeedstockConfig
from smithy.paths import template_dir
from smithy.recipe.load import load_recipe
from smithy.render.context import make_context
from smithy.render.engine import render
from smithy.render.templates import discover
from smithy.xbuildenv import PINNED_DEFAULT, XBuildEnv


def write_recipe(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "meta.yaml").write_text(text)
    return directory


def render_recipe(
    recipe_dir: Path, *, xbuildenv: XBuildEnv = PINNED_DEFAULT, **config: Any
) -> dict[str, bytes]:
    """The generated files for one recipe folder, without a feedstock on disk."""
    recipe = load_recipe(recipe_dir)
    settings = FeedstockConfig(xbuildenv=xbuildenv.version, **config)
    return render(make_context(recipe, settings, xbuildenv), discover(template_dir()))


def load_yaml(content: bytes) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(content.decode())


PURE_SDIST = """\
package:
  name: example-pkg
  version: 1.2.3
  top-level:
    - example_pkg
source:
  url: https://files.example/example_pkg-1.2.3.tar.gz
  sha256: {sha}
requirements:
  run:
    - six
about:
  summary: "An example: with a colon"
  license: MIT
extra:
  recipe-maintainers:
    - alice
    - bob
""".format(sha="ab" * 32)


def assert_golden(folder: Path, files: dict[str, bytes], *, update: bool) -> None:
    """``files`` (path -> bytes) equal the golden copy in ``folder``; ``update`` rewrites it."""
    if update:
        for path, content in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(content)
    on_disk = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    assert on_disk == files, "the render changed: check it, then run `pytest --update-golden`"
