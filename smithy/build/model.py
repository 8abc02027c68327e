"""What a build reads beyond the Recipe summary, and what it hands back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smithy.errors import SmithyError
from smithy.recipe.model import BuildKind


class BuildError(SmithyError):
    """A build that failed: a bad source, a failed step, a missing toolchain, an impure wheel."""

    exit_code = 16


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    kind: BuildKind
    wheels: tuple[Path, ...]  # what is in --output now: wheels, or a library's .zip / prefix
    tests_archives: tuple[Path, ...]  # <name>-tests.zip files written next to them

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "wheels": [str(p) for p in self.wheels],
            "tests_archives": [str(p) for p in self.tests_archives],
        }


@dataclass(frozen=True, kw_only=True)
class BuildSpec:
    """The parts of ``meta.yaml`` a build needs that :class:`~smithy.recipe.model.Recipe` omits."""

    meta_path: Path
    url: str | None
    sha256: str | None
    extract_dir: str | None
    patches: tuple[str, ...]
    extras: tuple[tuple[str, str], ...]
    script: str | None
    post: str | None
    unvendor_tests: bool
    retain_test_patterns: tuple[str, ...]

    @property
    def filename(self) -> str:
        """The source's file name, as pyodide-build takes it: the URL's last segment."""
        return (self.url or "").split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def read_spec(meta_path: Path) -> BuildSpec:
    """Read ``meta.yaml`` again with pyodide-build's ``MetaConfig`` (already validated)."""
    from smithy.errors import RecipeError
    from smithy.recipe.load import validate_meta
    from smithy.yamlio import load_yaml_file

    data = load_yaml_file(meta_path, error=RecipeError)
    config = validate_meta(data, meta_path)
    return BuildSpec(
        meta_path=meta_path,
        url=config.source.url,
        sha256=config.source.sha256.lower() if config.source.sha256 else None,
        extract_dir=config.source.extract_dir,
        patches=tuple(config.source.patches),
        extras=tuple((str(a), str(b)) for a, b in config.source.extras),
        script=config.build.script or None,
        post=config.build.post or None,
        unvendor_tests=bool(config.build.unvendor_tests),
        retain_test_patterns=tuple(config.build.retain_test_patterns),
    )


def retained_patterns(spec: BuildSpec) -> list[str] | None:
    """What to hand ``unvendor_tests_in_wheel``; ``None`` when tests stay in the wheel."""
    if not spec.unvendor_tests:
        return None
    return list(spec.retain_test_patterns)
