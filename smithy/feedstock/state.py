"""A feedstock on disk: its inputs, its manifest, and the digest that says "nothing changed"."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smithy import __version__
from smithy.config import CONFIG_FILE
from smithy.errors import FeedstockError
from smithy.recipe.load import META
from smithy.render.manifest import MANIFEST, Manifest, inputs_digest
from smithy.render.templates import TemplateSet, discover
from smithy.xbuildenv import XBuildEnv

RECIPE_DIR = "recipe"


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
        if not (root / needed).is_file():
            raise FeedstockError(f"not a feedstock: no {needed}", file=root)


def read_inputs(root: Path, shipped_templates: Path) -> Inputs:
    config_path = root / CONFIG_FILE
    meta_path = root / RECIPE_DIR / META
    check_feedstock(root)
    tests = tuple(sorted(p.name for p in (root / RECIPE_DIR).glob("test_*.py") if p.is_file()))
    return Inputs(
        config_text=config_path.read_bytes(),
        meta_text=meta_path.read_bytes(),
        test_files=tests,
        templates=discover(shipped_templates, root),
    )


def read_manifest(root: Path) -> Manifest | None:
    path = root / MANIFEST
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return None
    return Manifest.from_bytes(content, path)


def unchanged_on_disk(root: Path, manifest: Manifest) -> bool:
    """Every file the manifest lists is on disk with the hash it was rendered with."""
    from smithy.render.manifest import sha256

    for path, digest in manifest.files.items():
        try:
            if sha256((root / path).read_bytes()) != digest:
                return False
        except OSError:
            return False
    return True
