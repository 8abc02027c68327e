"""What a version pull request says: the new source, the changelog, the requirement changes
between the two releases against the recipe, and whether the recipe's patches still find their
files in the new source.

Everything shown comes from the package index (untrusted): links are shown only when they are
plain https URLs, names only when they are requirement names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from smithy.bot.plan import RERUN_LABEL
from smithy.bot.pull_text import build_number_note

if TYPE_CHECKING:
    from smithy.bot.plan import Feedstock
    from smithy.recipe.pypi_index import IndexFile
    from smithy.versions.index import IndexClient
    from smithy.versions.select import Update

MAX_SOURCE = 64 * 1024 * 1024  # a source larger than this is not downloaded to check patches
_URL = re.compile(r"https://[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+")


@dataclass(frozen=True, kw_only=True)
class VersionReport:
    changelog: str | None = None
    added: tuple[str, ...] = ()  # requirements upstream's new release adds
    removed: tuple[str, ...] = ()  # ... and drops
    not_in_recipe: tuple[str, ...] = ()  # new release's requirements the recipe's run lacks
    changed: tuple[str, ...] = ()  # same name, another specifier: "numpy: >=1.22 -> >=2"
    compared: bool = False  # both releases' metadata were read
    patches: int = 0
    missing: dict[str, list[str]] = field(default_factory=dict)  # patch -> files it cannot find
    patches_checked: str | None = None  # why they could not be checked, when they could not


def version_title(feedstock: Feedstock, update: Update) -> str:
    if update.version == update.current:
        return f"{feedstock.outputs[0]} {update.version}: upstream's Pyodide wheel"
    return f"{feedstock.outputs[0]} {update.version}"


def version_body(
    feedstock: Feedstock,
    update: Update,
    report: VersionReport,
    *,
    build_number: tuple[int, int] | None,
    replaces: int | None = None,
    switch: tuple[str, ...] | None = None,
) -> str:
    name = feedstock.outputs[0]
    if update.version == update.current:
        first = f"{name} publishes its own Pyodide wheel of {update.version}."
    else:
        first = f"{name} {update.version} is out; this feedstock builds {feedstock.version}."
    lines = [first, ""]
    if switch is not None:
        dropped = ", ".join(f"`{k}`" for k in switch) or "nothing"
        lines += [
            f"The recipe takes upstream's wheel `{update.filename}` as its source instead of "
            "building the sdist: tested in Pyodide and uploaded to the channel like any build "
            f"(dropped {dropped}, which only a source build uses). Close this pull request to "
            "keep building from source.",
            "",
        ]
    lines += [
        "| | |",
        "|---|---|",
        f"| version | {feedstock.version} → {update.version} |",
        f"| source | [{update.filename}]({update.url}) "
        f"({update.kind}{', as before' if switch is None else ''}) |",
        f"| sha256 | `{update.sha256}` (from the package index) |",
    ]
    if build_number is not None:
        lines.append(f"| build-number | {build_number[0]} → {build_number[1]} |")
    lines += ["", "**Changelog**: " + _link(report.changelog), ""]
    lines += _requirements(name, update, report)
    lines += _patches(update, report)
    if build_number is not None:
        lines += ["", build_number_note(*build_number)]
    if replaces is not None:
        lines += ["", f"This pull request replaces #{replaces}."]
    lines += [
        "",
        "---",
        "Opened by `pyodide-smithy bot versions`. It changes the recipe's version, source URL and "
        "sha256 and re-renders for the pinned xbuildenv (it never moves the pin). Closing it "
        f"without merging declines {update.version}; label it `{RERUN_LABEL}` to have it "
        "re-opened and refreshed. A newer release closes it and opens its own.",
    ]
    return "\n".join(lines) + "\n"


def _link(url: str | None) -> str:
    if url and _URL.fullmatch(url):
        return f"<{url}>"
    return "none in the release's metadata (no Project-URL labelled changelog or release notes)"


def _requirements(name: str, update: Update, report: VersionReport) -> list[str]:
    out = ["**Requirements** (upstream's `Requires-Dist` for Pyodide, markers evaluated):"]
    if not report.compared:
        return [*out, "- could not compare: the index serves no metadata for one of the releases"]
    if not report.added and not report.removed and not report.changed:
        out.append(f"- unchanged between the two releases of {name}")
    out += [f"- {update.version} adds `{r}`" for r in report.added]
    out += [f"- {update.version} drops `{r}`" for r in report.removed]
    out += [f"- {update.version} changes `{r}`" for r in report.changed]
    if report.not_in_recipe:
        needs = ", ".join(f"`{r}`" for r in report.not_in_recipe)
        out.append(
            f"- the recipe's `requirements.run` lacks {needs}: add them if Pyodide needs them "
            "(the built wheel's Requires-Dist is the recipe's)"
        )
    return out


def _patches(update: Update, report: VersionReport) -> list[str]:
    if not report.patches:
        return []
    out = ["", "**Patches**:"]
    if report.patches_checked is not None:
        return [*out, f"- not checked: {report.patches_checked}"]
    if not report.missing:
        return [*out, f"- all {report.patches} patches name files present in {update.filename}"]
    for patch, files in sorted(report.missing.items()):
        out.append(f"- `{patch}` modifies files missing from the new source: " + ", ".join(
            f"`{f}`" for f in files[:10]))  # fmt: skip
    return out


def gather_report(
    root: Path,
    before: str,
    update: Update,
    *,
    index_url: str | None,
    index: IndexClient | None = None,
) -> VersionReport:
    """Read what the report needs: both releases' metadata from the index, the recipe's patches
    from the clone, and the new source's file list (downloaded when small enough)."""
    from smithy.errors import RecipeError, SmithyError
    from smithy.versions.index import IndexClient
    from smithy.versions.report import changelog_url, requirement_changes
    from smithy.yamlio import load_yaml_text

    meta = load_yaml_text(before, root / "recipe" / "meta.yaml", error=RecipeError)
    source = meta.get("source") if isinstance(meta, dict) else None
    reqs = meta.get("requirements") if isinstance(meta, dict) else None
    run = tuple(str(r) for r in ((reqs or {}).get("run") or [])) if isinstance(reqs, dict) else ()
    index = index or IndexClient(index_url)
    try:
        files = index.seen(update.name) or []
    except SmithyError:
        files = []
    new = next((f for f in files if f.filename == update.filename), None)
    old = _old_file(files, source)
    new_meta, old_meta = _metadata(index, new), _metadata(index, old)
    changelog = changelog_url(new_meta) if new_meta else None
    changes = None
    if new_meta is not None and old_meta is not None:
        changes = requirement_changes(old_meta, new_meta, run, _python(root))
    patches = (
        [str(p) for p in ((source or {}).get("patches") or [])] if isinstance(source, dict) else []
    )
    missing, why = _check_patches(root, patches, new, index, source)
    return VersionReport(
        changelog=changelog,
        added=tuple(changes.added) if changes else (),
        removed=tuple(changes.removed) if changes else (),
        not_in_recipe=tuple(changes.not_in_recipe) if changes else (),
        changed=tuple(changes.changed) if changes else (),
        compared=changes is not None,
        patches=len(patches),
        missing=missing,
        patches_checked=why,
    )


def _metadata(index: IndexClient, file: IndexFile | None) -> bytes | None:
    """A release's core metadata, or None when the index serves none or serves it wrong."""
    from smithy.errors import SmithyError

    if file is None:
        return None
    try:
        return index.metadata(file)
    except SmithyError:
        return None


def _python(root: Path) -> str:
    """The Python of the feedstock's pinned xbuildenv (its manifest), for markers."""
    from smithy.errors import SmithyError
    from smithy.feedstock.state import read_manifest

    try:
        manifest = read_manifest(root)
    except SmithyError:
        manifest = None
    return manifest.xbuildenv.python_version if manifest else "3.14"


def _old_file(files: list[IndexFile], source: object) -> IndexFile | None:
    url = str(source.get("url") or "") if isinstance(source, dict) else ""
    filename = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return next((f for f in files if f.filename == filename), None)


def _check_patches(
    root: Path, patches: list[str], new: IndexFile | None, index: IndexClient, source: object
) -> tuple[dict[str, list[str]], str | None]:
    if not patches:
        return {}, None
    from smithy.errors import NetworkError, RecipeError
    from smithy.fsutil import is_clean_relative
    from smithy.versions.report import missing_patch_targets, source_members

    texts = {}
    for patch in patches:
        if not is_clean_relative(patch):
            return {}, f"patch path {patch!r} is not inside the recipe"
        try:
            texts[patch] = (root / "recipe" / patch).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}, f"{patch} is missing from the recipe"
    if new is None:
        return {}, "the index no longer lists the new source"
    if (new.size or 0) > MAX_SOURCE:
        return {}, f"{new.filename} is {(new.size or 0) // 2**20} MiB, too large to download here"
    try:
        data = index.download(new)
        members = source_members(data, new.filename)
    except NetworkError as exc:
        return {}, f"the new source could not be downloaded ({exc.message})"
    except RecipeError as exc:
        return {}, f"the new source could not be read ({exc.message})"
    extract = source.get("extract_dir") if isinstance(source, dict) else None
    return missing_patch_targets(texts, members, str(extract) if extract else None), None
