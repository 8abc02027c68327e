"""Render every template of a :class:`TemplateSet` with jinja2 into path -> bytes."""

from __future__ import annotations

import contextlib
import json
from functools import lru_cache
from typing import Any

from smithy.errors import TemplateError
from smithy.render.context import RenderContext
from smithy.render.manifest import MANIFEST
from smithy.render.templates import TemplateSet


def render(context: RenderContext, templates: TemplateSet) -> dict[str, bytes]:
    """Deterministic: the same context and templates give the same bytes.

    Templates, shipped or a feedstock's overrides, run in jinja2's immutable sandbox over plain
    data (``RenderContext.variables``), with no globals, and may include or import only each
    other: a template can compute text, never reach a file, a process or the environment.
    """
    env = _environment(templates)
    variables = context.variables()
    variables["generated_paths"] = sorted([name for name, _ in templates.files] + [MANIFEST])
    out: dict[str, bytes] = {}
    for name, path in templates.files:
        try:
            text = env.get_template(name).render(variables)
        except Exception as exc:  # jinja2 raises many kinds; all mean "this template is broken"
            line = getattr(exc, "lineno", None)
            key = f"line {line}" if line else None
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if type(exc).__name__ in ("TemplateNotFound", "TemplatesNotFound"):
                message = f"{message!r} is not a template: only the others can be included"
            raise TemplateError(
                f"template failed to render: {message}", file=path, key=key
            ) from exc
        out[name] = _tidy(text).encode()
    return out


@lru_cache(maxsize=8)
def _environment(templates: TemplateSet) -> Any:
    """One sandboxed environment per set of templates (one for every feedstock that overrides
    nothing); templates are named by their output path and only those of the set exist.

    Compiled templates are kept in memory and, as bytecode, in the cache directory: compiling
    the workflow template costs more than everything else ``init`` does.
    """
    from jinja2 import FunctionLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    paths = dict(templates.files)

    def load(name: str) -> tuple[str, str, Any] | None:
        path = paths.get(name)
        if path is None:
            return None  # an include or import of anything else: TemplateNotFound
        text = templates.source(name)
        return text, str(path), lambda: templates.source(name) == text

    env = ImmutableSandboxedEnvironment(
        loader=FunctionLoader(load),
        bytecode_cache=_bytecode_cache(),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # output is YAML and Markdown, not HTML
    )
    env.globals.clear()  # no range, lipsum, cycler, joiner, namespace, dict: only the context
    env.filters["yaml"] = yaml_string
    return env


def yaml_string(value: object) -> str:
    """``value`` as one double-quoted YAML scalar (JSON's string syntax is YAML's): whatever
    it holds, newlines and quotes included, it stays one value and adds no key."""
    return json.dumps("" if value is None else str(value))


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
