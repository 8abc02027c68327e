"""A feedstock on disk: its inputs, its manifest, and the digest that says "nothing changed"."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from smithy import __version__
from smithy.config import CONFIG_FILE
from smithy.errors import FeedstockError
from smithy.fsutil import read_regular
from smithy.recipe.load import META
from smithy.render.manifest import MANIFEST, Manifest, inputs_digest
from smithy.render.templates import TemplateSet, discover
from smithy.xbuildenv import XBuildEnv

RECIPE_DIR = "recipe"
MAX_INPUT_BYTES = 1 << 20  # pyodide-smithy.yml, recipe/meta.yaml, the manifest: a few KB each


@dataclass(frozen=True)
class Inputs:
    """The bytes a render reads, gathered without parsing them."""

    config_text: bytes
    meta_text: bytes
    test_files: tuple[str, ...]
    templates: TemplateSet

    def digest(self, xbuildenv: XBuildEnv) -> str:
        from smithy.self_install import running_install

        return inputs_digest(  # the running installation is the default install source of CI
            smithy_version=f"{__version__} {running_install().spec}",
            xbuildenv=xbuildenv,
            config_text=self.config_text,
            meta_text=self.meta_text,
            test_files=self.test_files,
            templates=self.templates.read(),
        )


def check_feedstock(root: Path) -> None:
    """Every command that works on a feedstock refuses anything else with this one error."""
    if not root.is_dir():
        raise FeedstockError("feedstock directory not found", file=root)
    for needed in (CONFIG_FILE, f"{RECIPE_DIR}/{META}"):
        if not os.path.lexists(root / needed):  # a symlink or a FIFO there: reading says why
            raise FeedstockError(f"not a feedstock: no {needed}", file=root)


def read_inputs(root: Path, shipped_templates: Path) -> Inputs:
    config_path = root / CONFIG_FILE
    meta_path = root / RECIPE_DIR / META
    check_feedstock(root)
    tests = tuple(sorted(p.name for p in (root / RECIPE_DIR).glob("test_*.py") if p.is_file()))
    return Inputs(
        config_text=read_regular(config_path, limit=MAX_INPUT_BYTES, error=FeedstockError),
        meta_text=read_regular(meta_path, limit=MAX_INPUT_BYTES, error=FeedstockError),
        test_files=tests,
        templates=discover(shipped_templates, root),
    )


def read_manifest(root: Path, *, lenient: bool = False) -> Manifest | None:
    """The feedstock's manifest; ``None`` if it has none or, when ``lenient`` (``--force``),
    if it cannot be trusted: then nothing it names is touched."""
    path = root / MANIFEST
    try:
        content = read_regular(path, limit=MAX_INPUT_BYTES, error=FeedstockError)
        return Manifest.from_bytes(content, path)
    except FileNotFoundError:
        return None
    except FeedstockError:
        if lenient:
            return None
        raise


def unchanged_on_disk(root: Path, manifest: Manifest) -> bool:
    """Every file the manifest lists is on disk with the hash it was rendered with."""
    from smithy.fsutil import inside
    from smithy.render.manifest import sha256

    for path, digest in manifest.files.items():
        try:
            file = inside(root, path)
            if file.is_symlink() or sha256(file.read_bytes()) != digest:
                return False
        except (OSError, FeedstockError):
            return False
    return True
