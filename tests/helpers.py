"""Small helpers shared by the tests."""

from __future__ import annotations

from collections.abc import Mapping
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


def make_build(
    folder: Path,
    name: str,
    version: str,
    build: int | None,
    *,
    tag: str = "py3-none-any",
    files: Mapping[str, str | bytes] | None = None,
    requires: tuple[str, ...] = (),
    upstream_requires: tuple[str, ...] | None = None,
    library: str | None = None,
) -> Path:
    """A wheel as a feedstock's build leaves it: ``{name}-{version}-{build}-{tag}.whl`` with
    ``Build:`` in WHEEL (no build tag when ``build`` is None), Requires-Dist ``requires`` and,
    given ``upstream_requires``, upstream's kept as UPSTREAM_METADATA. ``library``
    (``shared_library`` or ``static_library``) adds smithy.library's manifest; a shared one's
    ``.so`` files at the top of ``files`` are its runtime files."""
    import base64
    import hashlib
    import zipfile

    from smithy.library import LibraryManifest, import_name, manifest_member

    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    module = f"{import_name(name)}/__init__.py"
    contents: dict[str, str | bytes] = dict(
        files if files is not None else {module: f"VERSION = {version!r}\nBUILD = {build!r}\n"}
    )

    def metadata(needs: tuple[str, ...]) -> str:
        lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", "Summary: made"]
        return "\n".join([*lines, *(f"Requires-Dist: {r}" for r in needs)]) + "\n"

    if library is not None:
        runtime = {f"lib/{p}": p for p in contents if p.endswith(".so") and "/" not in p}
        manifest = LibraryManifest(name=name, version=version, kind=library, runtime=runtime)
        contents[manifest_member(name)] = manifest.to_json()
    contents[f"{info}/METADATA"] = metadata(requires)
    if upstream_requires is not None:
        contents[f"{info}/UPSTREAM_METADATA"] = metadata(upstream_requires)
    numbered = "" if build is None else f"Build: {build}\n"
    purelib = "true" if tag.endswith("-any") else "false"
    contents[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n{numbered}"
    )
    data = {p: c.encode() if isinstance(c, str) else c for p, c in contents.items()}
    rows = [
        f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()}"
        f",{len(b)}"
        for p, b in data.items()
    ]
    data[f"{info}/RECORD"] = ("\n".join([*rows, f"{info}/RECORD,,"]) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    numbers = [] if build is None else [str(build)]
    wheel = folder / ("-".join([dist, version, *numbers, tag]) + ".whl")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in data.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), content)
    return wheel
