"""``rerender``: render afresh, compare with the feedstock and its manifest, apply and commit."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from smithy import __version__, console
from smithy.config import (
    CONFIG_FILE,
    FeedstockConfig,
    parse_config,
    replace_build_number,
    replace_xbuildenv_pin,
)
from smithy.errors import ConfigError, FeedstockError
from smithy.feedstock.state import (
    RECIPE_DIR,
    Inputs,
    read_inputs,
    read_manifest,
    unchanged_on_disk,
)
from smithy.gitio import LocalRepo
from smithy.paths import template_dir
from smithy.recipe.model import Recipe
from smithy.render.manifest import MANIFEST, Manifest, sha256
from smithy.xbuildenv import XBuildEnv

Action = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class Change:
    path: str
    action: Action


@dataclass(frozen=True)
class BuildNumberChange:
    """``build-number`` moved by rerender: up for a rebuild of the same version on a new
    xbuildenv, back to 0 for a new version."""

    before: int
    after: int
    reason: str  # "new version 1.3.0 (was 1.2.0)"

    def line(self) -> str:
        return f"build-number {self.before} -> {self.after}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"from": self.before, "to": self.after, "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class RerenderResult:
    feedstock: Path
    xbuildenv: str
    previous_xbuildenv: str | None
    changes: tuple[Change, ...]
    hand_edited: tuple[str, ...] = ()
    commit: str | None = None
    build_number: BuildNumberChange | None = None

    @property
    def up_to_date(self) -> bool:
        return not self.changes

    def to_json(self) -> dict[str, Any]:
        return {
            "feedstock": str(self.feedstock),
            "up_to_date": self.up_to_date,
            "pyodide_smithy": __version__,
            "xbuildenv": {"from": self.previous_xbuildenv, "to": self.xbuildenv},
            "changes": [{"path": c.path, "action": c.action} for c in self.changes],
            "hand_edited": list(self.hand_edited),
            "commit": self.commit,
            "build_number": self.build_number.to_json() if self.build_number else None,
        }


@dataclass(frozen=True)
class Render:
    """The full outcome of a render: every generated file, the manifest and the config text."""

    files: dict[str, bytes]
    config_text: bytes
    xbuildenv: XBuildEnv


def commit_message(xbuildenv: str) -> str:
    return f"MNT: Re-rendered with pyodide-smithy {__version__} for xbuildenv {xbuildenv}"


def render_feedstock(
    inputs: Inputs, config: FeedstockConfig, xbuildenv: XBuildEnv, recipe: Recipe
) -> Render:
    """The files a feedstock with these inputs should hold, its manifest included."""
    from smithy.render.context import make_context
    from smithy.render.engine import render

    files = render(make_context(recipe, config, xbuildenv), inputs.templates)
    manifest = Manifest(
        smithy_version=__version__,
        xbuildenv=xbuildenv,
        inputs=inputs.digest(xbuildenv),
        files={path: sha256(content) for path, content in files.items()},
        recipe_version=recipe.version,
    )
    files[MANIFEST] = manifest.to_bytes()
    return Render(files, inputs.config_text, xbuildenv)


def run_rerender(
    root: Path,
    *,
    xbuildenv: str | None = None,
    metadata: str | None = None,
    check: bool = False,
    force: bool = False,
) -> RerenderResult:
    """Bring the generated files of the feedstock at ``root`` up to date.

    With ``check``, change nothing and say what would change.
    """
    root = root.resolve()
    inputs = read_inputs(root, template_dir())
    manifest = read_manifest(root, lenient=force)
    previous = manifest.xbuildenv.version if manifest else None
    if (
        xbuildenv is None
        and manifest is not None
        and manifest.inputs == inputs.digest(manifest.xbuildenv)
        and unchanged_on_disk(root, manifest)
    ):
        return RerenderResult(
            feedstock=root, xbuildenv=previous or "", previous_xbuildenv=previous, changes=()
        )
    config = _parse(inputs.config_text, root)
    target = _target(config, manifest, xbuildenv, metadata)
    from smithy.lint.gate import refuse_errors
    from smithy.recipe.load import META, load_recipe

    recipe = load_recipe(root / RECIPE_DIR)
    refuse_errors(root / RECIPE_DIR / META, recipe)
    number = build_number_change(config, target, recipe.version, manifest)
    inputs, config = _settle(root, inputs, config, target, number)
    rendered = render_feedstock(inputs, config, target, recipe)
    changes, hand_edited = _plan(root, rendered, manifest)
    result = RerenderResult(
        feedstock=root,
        xbuildenv=target.version,
        previous_xbuildenv=previous,
        changes=tuple(changes),
        hand_edited=tuple(hand_edited),
        build_number=number,
    )
    if number is not None:
        console.info(number.line())
    if check or not changes:
        return result
    repo = _guard(root, changes, hand_edited, manifest, force=force)
    _apply(root, rendered, changes)
    if repo is None:
        console.warn(f"{root} is not a git repository: files written, nothing committed")
        return result
    from smithy import gitio

    sha = gitio.commit_paths(repo, [c.path for c in changes], commit_message(target.version))
    return dataclasses.replace(result, commit=sha)


def build_number_change(
    config: FeedstockConfig, target: XBuildEnv, version: str, manifest: Manifest | None
) -> BuildNumberChange | None:
    """How ``build-number`` moves in this rerender, if it does.

    Back to 0 when the recipe's version differs from the one the manifest recorded (unknown in
    a manifest written before it did: then nothing resets); else one up when rerender moves the
    xbuildenv pin, since the same version is built again and its wheels need a new file name.
    """
    number = config.build_number
    recorded = manifest.recipe_version if manifest else None
    if recorded is not None and not same_version(recorded, version):
        if number == 0:
            return None
        return BuildNumberChange(number, 0, f"new version {version} (was {recorded})")
    if target.version != config.xbuildenv:
        return BuildNumberChange(
            number, number + 1, f"a rebuild of {version} for xbuildenv {target.version}"
        )
    return None


def same_version(one: str, other: str) -> bool:
    """PEP 440 equality (``1.3`` is ``1.3.0``: the same wheel name), else the same text."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(one) == Version(other)
    except InvalidVersion:
        return one == other


def _settle(
    root: Path,
    inputs: Inputs,
    config: FeedstockConfig,
    target: XBuildEnv,
    number: BuildNumberChange | None,
) -> tuple[Inputs, FeedstockConfig]:
    """The inputs and settings with the xbuildenv pin and build number this rerender writes:
    each value changed in place in the config text, comments and layout kept."""
    if target.version == config.xbuildenv and number is None:
        return inputs, config
    path, text = root / CONFIG_FILE, inputs.config_text.decode()
    if target.version != config.xbuildenv:
        text = replace_xbuildenv_pin(text, target.version, path)
        config = dataclasses.replace(config, xbuildenv=target.version)
    if number is not None:
        text = replace_build_number(text, number.after, path)
        config = dataclasses.replace(config, build_number=number.after)
    return dataclasses.replace(inputs, config_text=text.encode()), config


def _parse(config_text: bytes, root: Path) -> FeedstockConfig:
    from smithy.yamlio import load_yaml_text

    path = root / CONFIG_FILE
    data = load_yaml_text(config_text.decode("utf-8", "replace"), path, error=ConfigError)
    return parse_config(data if data is not None else {}, path)


def _target(
    config: FeedstockConfig, manifest: Manifest | None, wanted: str | None, metadata: str | None
) -> XBuildEnv:
    """The xbuildenv to render for: the one asked for, else the pinned one.

    The pinned one is taken from the manifest when it matches, so no metadata is read.
    """
    if wanted is None and manifest is not None and manifest.xbuildenv.version == config.xbuildenv:
        return manifest.xbuildenv
    from smithy.xbuildenv import load_catalog

    catalog = load_catalog(metadata)
    if wanted is None:
        return catalog.get(config.xbuildenv)
    return catalog.resolve(wanted, prereleases=config.bot.prereleases)


def _plan(
    root: Path, rendered: Render, manifest: Manifest | None
) -> tuple[list[Change], list[str]]:
    from smithy.fsutil import inside

    old = manifest.files if manifest else {}
    changes: list[Change] = []
    hand_edited: list[str] = []
    config_path = root / CONFIG_FILE
    if config_path.read_bytes() != rendered.config_text:
        changes.append(Change(CONFIG_FILE, "update"))
    for path, content in sorted(rendered.files.items()):
        on_disk = _read(inside(root, path))
        if on_disk == content:
            continue
        if on_disk is not None and path != MANIFEST and old.get(path) != sha256(on_disk):
            hand_edited.append(path)
        changes.append(Change(path, "create" if on_disk is None else "update"))
    for path in sorted(set(old) - set(rendered.files)):
        on_disk = _read(inside(root, path))
        if on_disk is None:
            continue
        if sha256(on_disk) != old[path]:
            hand_edited.append(path)
        changes.append(Change(path, "delete"))
    return changes, hand_edited


def _read(path: Path) -> bytes | None:
    """What a generated path holds now; a symlink or a folder there is never followed and reads
    as content no render produces (so it counts as edited by hand)."""
    if path.is_symlink() or path.is_dir():
        return b"\0not a regular file"
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _guard(
    root: Path,
    changes: list[Change],
    hand_edited: list[str],
    manifest: Manifest | None,
    *,
    force: bool,
) -> LocalRepo | None:
    """Refuse to overwrite work: hand edits and uncommitted changes, unless ``force``."""
    from smithy import gitio

    if hand_edited and not force:
        raise FeedstockError(
            "generated files were edited by hand since the last rerender: "
            f"{', '.join(hand_edited)} (move the edits into recipe/, pyodide-smithy.yml or "
            ".pyodide-smithy/templates/, or rerender with --force to overwrite them)",
            file=root,
            key=hand_edited[0],
        )
    repo = gitio.open_repo(root)
    if repo is None or force:
        return repo
    watched = {c.path for c in changes} | set(manifest.files if manifest else ())
    dirty = gitio.dirty_paths(repo, watched)
    if dirty:
        raise FeedstockError(
            f"uncommitted changes to files rerender would rewrite: {', '.join(dirty)} "
            "(commit or stash them, or rerender with --force)",
            file=root,
            key=dirty[0],
        )
    return repo


def _apply(root: Path, rendered: Render, changes: list[Change]) -> None:
    """Write each file atomically; the manifest goes last, so a kill leaves the old one."""
    from smithy.fsutil import inside, write_atomic

    ordered = sorted(changes, key=lambda c: c.path == MANIFEST)
    for change in ordered:
        path = inside(root, change.path)  # checked again: nothing through a symlinked folder
        if change.action == "delete":
            path.unlink(missing_ok=True)
        elif change.path == CONFIG_FILE:
            write_atomic(path, rendered.config_text)
        else:
            write_atomic(path, rendered.files[change.path])
