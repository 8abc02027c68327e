"""``lint``: which files PATH means, every check over them, the findings in file order."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smithy.errors import LintError, UsageError
from smithy.lint.model import Finding, Level
from smithy.lint.subject import Subject, line_of

META = "meta.yaml"
RECIPE_DIR = "recipe"


@dataclass(frozen=True, kw_only=True)
class LintOptions:
    online: bool = False  # ask the channel and the package index about requirements
    channel: str | None = None  # the channel for --online; a feedstock's own by default
    wheel: Path | None = None  # a built wheel to check package.top-level against


@dataclass(frozen=True, kw_only=True)
class Target:
    """What PATH names: a recipe's ``meta.yaml``, and the feedstock around it if there is one."""

    meta_path: Path
    feedstock: Path | None


@dataclass(frozen=True, kw_only=True)
class LintResult:
    path: str
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.ERROR)

    @property
    def hints(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level is Level.HINT)

    def check(self) -> None:
        """Raise a :class:`LintError` when there are errors: lint's exit code."""
        if self.errors:
            from smithy.console import count

            raise LintError(f"lint found {count(len(self.errors), 'error')}", file=self.path)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "errors": len(self.errors),
            "hints": len(self.hints),
            "findings": [f.to_json() for f in self.findings],
        }


def locate(path: Path) -> Target:
    """A feedstock folder, a recipe folder, or a ``meta.yaml`` (or ``pyodide-smithy.yml``)."""
    from smithy.config import CONFIG_FILE

    if path.is_file() and path.name == CONFIG_FILE:
        path = path.parent
    if path.is_file():
        if path.name != META:
            raise UsageError(f"not a recipe: {path.name} is not a {META}", file=path)
        return Target(meta_path=path, feedstock=None)
    if not path.is_dir():
        raise UsageError("no such file or folder", file=path)
    if os.path.lexists(path / CONFIG_FILE):
        return Target(meta_path=path / RECIPE_DIR / META, feedstock=path)
    if os.path.lexists(path / META):
        return Target(meta_path=path / META, feedstock=None)
    raise UsageError(f"neither a feedstock ({CONFIG_FILE}) nor a recipe folder ({META})", file=path)


def shown(path: Path) -> str:
    """A path as findings name it: relative to the working folder when inside it."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def run_lint(path: Path, options: LintOptions | None = None) -> LintResult:
    """Every check over the recipe (and the feedstock) at ``path``."""
    from smithy.lint.gate import recipe_findings
    from smithy.lint.reading import read_recipe, read_settings, static_libraries

    options = options or LintOptions()
    target = locate(path)
    subject, findings = read_recipe(target.meta_path, shown(target.meta_path))
    trees: dict[str, Any] = {subject.file: subject.tree}
    channel = options.channel
    if target.feedstock is not None:
        from smithy.config import CONFIG_FILE

        settings_path = target.feedstock / CONFIG_FILE
        settings_file = shown(settings_path)
        settings, tree, refused = read_settings(settings_path, settings_file)
        findings += refused
        trees[settings_file] = tree
        subject = dataclasses.replace(subject, settings=settings, settings_file=settings_file)
        if channel is None and settings is not None:
            channel = settings.channel.url
    else:
        folder = target.meta_path.absolute().parent.parent
        subject = dataclasses.replace(subject, static_libraries=static_libraries(folder))
    if subject.tree is None:  # unreadable: PS001 says why, and there is nothing to check
        return _result(path, findings, trees, subject.file)
    findings += recipe_findings(subject)
    findings += _with_cache_and_wheel(subject, target, options)
    if options.online:
        from smithy.lint.online import channel_and_index, missing_requirements

        findings += missing_requirements(subject, channel_and_index(channel))
    return _result(path, findings, trees, subject.file)


def _result(path: Path, findings: list[Finding], trees: dict[str, Any], meta: str) -> LintResult:
    """The findings with their lines, meta.yaml's first, then in file order."""
    placed = [
        f if f.line else dataclasses.replace(f, line=line_of(trees.get(f.file), f.key))
        for f in findings
    ]
    placed.sort(key=lambda f: (f.file != meta, f.file, f.line or 0, f.id))
    return LintResult(path=shown(path), findings=tuple(placed))


def _with_cache_and_wheel(subject: Subject, target: Target, options: LintOptions) -> list[Finding]:
    from smithy.lint.patches import patches_apply
    from smithy.lint.wheel_names import find_wheel, top_level_vs_wheel

    findings = list(patches_apply(subject))
    if options.wheel is not None and not options.wheel.is_file():
        raise UsageError("no such wheel", file=options.wheel, key="--wheel")
    wheel = options.wheel or find_wheel(subject, target.feedstock)
    if wheel is not None:
        findings += top_level_vs_wheel(subject, wheel)
    return findings
