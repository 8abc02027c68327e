"""Render every template of a :class:`TemplateSet` with jinja2 into path -> bytes."""

from __future__ import annotations

import contextlib
from functools import cache
from pathlib import Path
from typing import Any

from smithy.errors import TemplateError
from smithy.render.context import RenderContext
from smithy.render.manifest import MANIFEST
from smithy.render.templates import TemplateSet


def render(context: RenderContext, templates: TemplateSet) -> dict[str, bytes]:
    """Deterministic: the same context and templates give the same bytes."""
    env = _environment()
    generated = sorted([name for name, _ in templates.files] + [MANIFEST])
    variables: dict[str, Any] = {
        name: getattr(context, name)
        for name in (
            "recipe",
            "config",
            "xbuildenv",
            "kind",
            "smithy_version",
            "smithy_install",
            "header",
            "upload_target",
            "index_url",
            "channel_description",
            "kind_description",
            "import_fallback",
            "ci_description",
            "license_summary",
        )
    }
    variables["generated_paths"] = generated
    out: dict[str, bytes] = {}
    for name, path in templates.files:
        try:
            text = env.get_template(str(path)).render(variables)
        except Exception as exc:  # jinja2 raises many kinds; all mean "this template is broken"
            line = getattr(exc, "lineno", None)
            key = f"line {line}" if line else None
            raise TemplateError(f"template failed to render: {exc}", file=path, key=key) from exc
        out[name] = _tidy(text).encode()
    return out


@cache
def _environment() -> Any:
    """One environment per process; templates are named by their absolute path.

    Compiled templates are kept in memory and, as bytecode, in the cache directory: compiling
    the workflow template costs more than everything else ``init`` does.
    """
    import jinja2

    def load(name: str) -> tuple[str, str, Any]:
        path = Path(name)
        mtime = path.stat().st_mtime_ns
        return path.read_text(encoding="utf-8"), name, lambda: path.stat().st_mtime_ns == mtime

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - output is YAML and Markdown, not HTML
    )


def _bytecode_cache() -> Any:
    import jinja2

    from smithy.paths import cache_dir

    class QuietCache(jinja2.FileSystemBytecodeCache):
        """A cache that is only a speed-up: an unwritable cache directory is not an error."""

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    folder = cache_dir() / "jinja2"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return QuietCache(str(folder))


def _tidy(text: str) -> str:
    """Strip trailing spaces and collapse runs of blank lines that conditional blocks leave."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
