"""Load a recipe folder and validate it with pyodide-build's own ``MetaConfig``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from smithy.errors import RecipeError
from smithy.recipe import fields
from smithy.recipe.files import check_named_files, test_files
from smithy.recipe.model import BuildKind, Recipe
from smithy.yamlio import load_yaml_file

META = "meta.yaml"

# Build settings that mean an sdist compiles something (or cannot be built by pypa/build alone).
_COMPILING_BUILD_KEYS = (
    "cflags",
    "cxxflags",
    "ldflags",
    "script",
    "backend_flags",
    "cross_build_env",
    "cross_script",
)


def load_recipe(directory: Path) -> Recipe:
    """Validate ``directory/meta.yaml`` and the files it names; summarise it as a Recipe."""
    meta_path = directory / META
    try:
        data = load_yaml_file(meta_path, error=RecipeError)
    except FileNotFoundError:
        raise RecipeError("recipe folder has no meta.yaml", file=meta_path) from None
    if not isinstance(data, dict):
        raise RecipeError("a recipe must be a YAML mapping", file=meta_path)
    config = validate_meta(data, meta_path)
    recipe = _summarise(config, directory, _maintainers(data, meta_path), meta_path)
    check_named_files(config, directory, meta_path)
    return recipe


def validate_meta(data: dict[str, Any], meta_path: Path) -> Any:
    """``MetaConfig`` for ``data``; a failure names the key path at fault."""
    from pyodide_build.recipe.spec import MetaConfig

    _check_shapes(data, meta_path)
    try:
        return MetaConfig.from_dict(data)
    except Exception as exc:
        raise _explain(exc, data, meta_path) from exc


def _sections() -> dict[str, Any]:
    from pyodide_build.recipe import spec

    return {
        "package": spec._PackageSpec,
        "source": spec._SourceSpec,
        "build": spec._BuildSpec,
        "requirements": spec._RequirementsSpec,
        "test": spec._TestSpec,
        "about": spec._AboutSpec,
        "extra": spec._ExtraSpec,
    }


def _aliases(cls: Any) -> dict[str, Any]:
    import attrs

    return {f.metadata.get("alias", f.name): f for f in attrs.fields(cls)}


def _check_shapes(data: dict[str, Any], meta_path: Path) -> None:
    """Catch what pyodide-build's converter would silently bend: ``run: six`` read as a list."""
    for section, cls in _sections().items():
        value = data.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise RecipeError(f"'{section}' must be a mapping", file=meta_path, key=section)
        for alias, field in _aliases(cls).items():
            if alias not in value:
                continue
            item = value[alias]
            kind = getattr(field.type, "__origin__", field.type)
            if kind is list and not isinstance(item, list):
                raise RecipeError(
                    f"'{section}.{alias}' must be a list, not {type(item).__name__}",
                    file=meta_path,
                    key=f"{section}.{alias}",
                )
            if field.type is bool and not isinstance(item, bool):
                raise RecipeError(
                    f"'{section}.{alias}' must be true or false, not {item!r}",
                    file=meta_path,
                    key=f"{section}.{alias}",
                )


def _explain(exc: Exception, data: dict[str, Any], meta_path: Path) -> RecipeError:
    """Turn whatever pyodide-build raised into one line with the key path."""
    import difflib

    from cattrs.errors import ForbiddenExtraKeysError

    sections = _sections()
    if isinstance(exc, ForbiddenExtraKeysError):
        owner = next((s for s, c in sections.items() if c is exc.cl), None)
        allowed = list(_aliases(exc.cl)) if owner else list(sections)
        extra = sorted(exc.extra_fields)[0]
        close = difflib.get_close_matches(extra, allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        key = f"{owner}.{extra}" if owner else extra
        return RecipeError(f"unknown key '{key}' in recipe{hint}", file=meta_path, key=key)
    if isinstance(exc, KeyError):
        missing = str(exc.args[0]) if exc.args else "?"
        key = _locate(data) or missing
        if key != missing and not key.endswith(f".{missing}"):
            key = f"{key}.{missing}"
        return RecipeError(f"missing required key '{key}'", file=meta_path, key=key)
    message = str(exc).strip() or type(exc).__name__
    literal = re.fullmatch(r"(.*) not in literal typing\.Literal\[(.*)\]", message)
    if literal:
        choices = literal.group(2).replace("'", "")
        message = f"{literal.group(1)!r} is not one of {choices}"
    quoted = re.search(r"'(\w[\w-]*/[\w-]+)'", message)
    where = quoted.group(1).replace("/", ".") if quoted else _locate(data)
    return RecipeError(f"invalid recipe: {message}", file=meta_path, key=where)


def _locate(data: dict[str, Any]) -> str | None:
    """Structure section by section, then field by field, to find the part that fails."""
    from pyodide_build.recipe.spec import _converter

    for section, cls in _sections().items():
        if section not in data:
            if section == "package":
                return "package"
            continue
        value = data[section]
        try:
            _converter.structure(value, cls)
        except Exception:
            for alias, field in _aliases(cls).items():
                if alias in value:
                    try:
                        _converter.structure(value[alias], field.type)
                    except Exception:
                        return f"{section}.{alias}"
            return section
    return None


def _kind(config: Any) -> BuildKind:
    package_type = config.build.package_type
    if package_type == "shared_library":
        return BuildKind.SHARED_LIBRARY
    if package_type == "static_library":
        return BuildKind.STATIC_LIBRARY
    url = config.source.url or ""
    if url.endswith(".whl"):
        tags = url.rsplit("/", 1)[-1].removesuffix(".whl").split("-")[-2:]
        return BuildKind.PURE_WHEEL if tags == ["none", "any"] else BuildKind.PREBUILT_WHEEL
    # An sdist may hold C code whatever its recipe says (MarkupSafe, regex, ujson...): only the
    # feedstock's ``pure-python: true`` makes it a pure build, see smithy.render.context.
    return BuildKind.COMPILED


def could_be_pure(config: Any) -> str | None:
    """Why this recipe cannot be built as pure Python with pypa/build; ``None`` if it can."""
    if config.build.package_type != "package":
        return f"it builds a {config.build.package_type}"
    if config.source.path is not None:
        return "its source is a path in the tree"
    if config.requirements.host:
        return "it has host requirements"
    if config.requirements.executable:
        return "it needs executables " + ", ".join(config.requirements.executable)
    keys = [k for k in _COMPILING_BUILD_KEYS if getattr(config.build, k)]
    if keys:
        return "it sets build." + ", build.".join(keys)
    return None


def _maintainers(data: dict[str, Any], meta_path: Path) -> tuple[str, ...]:
    """``extra.recipe-maintainers``, read from the data itself; each must be a GitHub login.

    pyodide-build 0.39's MetaConfig drops it: its ``extra`` hook is registered after
    MetaConfig's structure function captured the default one.
    """
    extra = data.get("extra") or {}
    names = extra.get("recipe-maintainers") or [] if isinstance(extra, dict) else []
    if not isinstance(names, list):
        return ()
    key = "extra.recipe-maintainers"
    return tuple(fields.login(n, meta_path, f"{key}[{i}]") for i, n in enumerate(names))


def _summarise(
    config: Any, directory: Path, maintainers: tuple[str, ...], meta_path: Path
) -> Recipe:
    """The Recipe, every field that reaches a generated file checked (smithy.recipe.fields)."""
    kind = _kind(config)
    about, requirements = config.about, config.requirements
    return Recipe(
        name=fields.package_name(config.package.name, meta_path),
        version=fields.version(config.package.version, meta_path, library=not kind.makes_wheel),
        kind=kind,
        directory=directory,
        source_url=fields.url(config.source.url, meta_path, "source.url"),
        sha256=config.source.sha256,
        summary=fields.one_line(about.summary, meta_path, "about.summary"),
        license=fields.one_line(about.license, meta_path, "about.license"),
        home=fields.url(about.home, meta_path, "about.home"),
        pypi=fields.url(about.PyPI, meta_path, "about.PyPI"),
        maintainers=maintainers,
        top_level=fields.dotted_names(config.package.top_level, meta_path, "package.top-level"),
        imports=fields.dotted_names(config.test.imports, meta_path, "test.imports"),
        run_requirements=fields.requirements(requirements.run, meta_path, "requirements.run"),
        host_requirements=fields.requirements(requirements.host, meta_path, "requirements.host"),
        executables=tuple(requirements.executable),
        test_files=test_files(directory),
        pure_blocker=could_be_pure(config) if kind is BuildKind.COMPILED else None,
    )
