"""``pyodide-smithy.yml``: the feedstock's settings, validated; JSON Schema made from the model."""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_type_hints

from smithy.errors import ConfigError
from smithy.self_install import DESCRIPTION as INSTALL_DESCRIPTION
from smithy.self_install import PATTERN as INSTALL_PATTERN

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

CONFIG_FILE = "pyodide-smithy.yml"
DEFAULT_PYODIDE_BUILD = "0.39.2"
VERSION_PATTERN = r"^[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.dev[0-9]+)?$"
LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# Channel URLs reach the workflow (a step name) and the README (a code span): only RFC 3986's
# characters for URLs, and for a local directory nothing that ends a code span or a YAML
# scalar, or starts a GitHub expression: no whitespace, control character, ` $ { } < > | " '
# (and no ':' but a Windows drive's, so that 'scheme:...' is never taken for a directory).
# \x60 is the backquote: written so, the pattern fits in docs/config.md's code spans.
CHANNEL_RULE = (
    "anaconda://OWNER, an http(s):// or file:// URL of RFC 3986 characters, or a local "
    "directory without whitespace, quotes, backquotes, dollar signs, braces, angle brackets, "
    "pipes or colons (but a Windows drive's)"
)
_URL_CHARS = r"[A-Za-z0-9._~:/?#@!$&'()*+,;=%\[\]-]"
_NOT_IN_PATH = r"""\s\x60$<>|{}"'\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"""
CHANNEL_PATTERN = (
    r"^(anaconda://[A-Za-z0-9._-]+"
    rf"|https?://{_URL_CHARS}+"
    rf"|file://{_URL_CHARS}+"
    rf"|(?:[A-Za-z]:)?[^:{_NOT_IN_PATH}]+)$"
)


def _opt(key: str, doc: str, default: Any = dataclasses.MISSING, **extra: Any) -> Any:
    """A config field: its YAML key, its documentation, and optional ``pattern``/``expect``, and
    ``check`` (called with the text and the file; raises ConfigError)."""
    meta = {"key": key, "doc": doc, **extra}
    if isinstance(default, type) and dataclasses.is_dataclass(default):
        return field(default_factory=default, metadata=meta)
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class ChannelConfig:
    """Where CI uploads what it builds."""

    url: str = _opt(
        "url",
        "Channel to publish to: `anaconda://OWNER` (CI uploads there), or another channel URL "
        "or a local directory (CI then keeps its builds as artifacts and uploads nothing). "
        f"The value reaches the workflow and the README, so it must be {CHANNEL_RULE}.",
        "anaconda://pyodide",
        pattern=CHANNEL_PATTERN,
        expect=CHANNEL_RULE,
    )
    label: str = _opt(
        "label",
        "Label uploads land in, for maintainers to review and promote.",
        "staging",
        pattern=LABEL_PATTERN,
    )
    staging_url: str = _opt(
        "staging-url",
        "A separate channel CI uploads to instead (e.g. `anaconda://pyodide-staging`), so that "
        "CI's token cannot write to `url` at all; `promote` copies from it into `url`. "
        "Empty: CI uploads to `url` under `label`. Same rule as `url`.",
        "",
        pattern=f"^$|{CHANNEL_PATTERN}",
        expect=f"empty, or {CHANNEL_RULE}",
    )


# A PEP 440 specifier set, in the characters specifiers use: the value may reach a pull
# request's text, so nothing else (no newline, backquote or markup) gets through.
VERSIONS_PATTERN = r"^[0-9A-Za-z.*+!<>=~, ]*$"


def parse_versions_rule(text: str, path: Path | str | None = None) -> SpecifierSet:
    """``bot.versions`` as a ``packaging`` SpecifierSet; ConfigError naming the key when it is
    not one (``"<3,!=2.1.0"`` is)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        if re.fullmatch(VERSIONS_PATTERN, text) is None:
            raise InvalidSpecifier(text)
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise ConfigError(
            f"'bot.versions' has an invalid value {text!r}: expected a PEP 440 specifier set "
            "such as '<3,!=2.1.0'",
            file=path,
            key="bot.versions",
        ) from None


@dataclass(frozen=True, kw_only=True)
class BotConfig:
    """How the organisation's bot treats this feedstock: xbuildenv migrations and version
    updates."""

    migrations: bool = _opt(
        "migrations", "Let the bot open rerender pull requests for new xbuildenvs.", True
    )
    prereleases: bool = _opt(
        "prereleases", "Also migrate to pre-release xbuildenvs (alphas, betas, rcs).", False
    )
    automerge: bool = _opt(
        "automerge", "Merge the bot's pull requests by itself once CI passes.", False
    )
    version_updates: bool = _opt(
        "version-updates", "Open pull requests for new upstream releases.", True
    )
    version_prereleases: bool = _opt(
        "version-prereleases",
        "Also propose pre-releases of upstream (alphas, betas, rcs, dev releases). A recipe at "
        "a pre-release does not opt in by itself.",
        False,
    )
    versions: str = _opt(
        "versions",
        "A PEP 440 specifier set every proposed version must satisfy, e.g. `<3,!=2.1.0` (stay "
        "below 3, skip 2.1.0). Empty: any newer release.",
        "",
        pattern=VERSIONS_PATTERN,
        expect="a PEP 440 specifier set such as '<3,!=2.1.0'",
        check=parse_versions_rule,
    )


@dataclass(frozen=True, kw_only=True)
class FeedstockConfig:
    """The whole ``pyodide-smithy.yml``."""

    xbuildenv: str = _opt(
        "xbuildenv",
        "Pyodide cross-build environment the feedstock builds for (a release in Pyodide's "
        "xbuildenv metadata). `rerender --xbuildenv` changes it.",
        pattern=VERSION_PATTERN,
    )
    pyodide_build: str = _opt(
        "pyodide-build",
        "pyodide-build version CI installs, pinned.",
        DEFAULT_PYODIDE_BUILD,
        pattern=VERSION_PATTERN,
    )
    pyodide_smithy: str = _opt(
        "pyodide-smithy",
        f"Where CI installs pyodide-smithy from: {INSTALL_DESCRIPTION}. Empty: the "
        "pyodide-smithy that rendered the feedstock (its release, or its git commit when it "
        "was installed from git).",
        "",
        pattern=INSTALL_PATTERN,
        expect=INSTALL_DESCRIPTION,
    )
    pure_python: bool = _opt(
        "pure-python",
        "Build an sdist recipe with pypa/build (PEP 517) and no Emscripten, because it holds no "
        "compiled code. Wheel recipes are detected by themselves.",
        False,
    )
    build_number: int = _opt(
        "build-number",
        "Build number, stamped on every wheel the feedstock builds as its PEP 427 build tag "
        "(`name-1.2.0-3-cp314-...whl`). Bump it to publish a rebuild of the same version; the "
        "bot's migration pull requests bump it, and a new version resets it to 0.",
        0,
    )
    tests: bool = _opt(
        "tests",
        "Run the test job: install the built wheel with micropip in a real Pyodide (Node.js) "
        "and import its modules.",
        True,
    )
    channel: ChannelConfig = _opt("channel", "Upload target.", ChannelConfig)
    bot: BotConfig = _opt(
        "bot", "Bot settings: xbuildenv migrations and version updates.", BotConfig
    )


def load_config(path: Path) -> FeedstockConfig:
    """Read and validate ``pyodide-smithy.yml``; unknown keys get a "did you mean"."""
    from smithy.yamlio import load_yaml_file

    try:
        data = load_yaml_file(path, error=ConfigError)
    except FileNotFoundError:
        raise ConfigError(f"no {CONFIG_FILE}: is this a feedstock?", file=path) from None
    return parse_config(data if data is not None else {}, path)


def parse_config(data: Any, path: Path) -> FeedstockConfig:
    return _build(FeedstockConfig, data, path, prefix="")


def _build[T](cls: type[T], data: Any, path: Path, prefix: str) -> T:
    where = prefix.rstrip(".") or None
    if not isinstance(data, dict):
        raise ConfigError(f"'{where or 'top level'}' must be a mapping", file=path, key=where)
    fields = {f.metadata["key"]: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"unknown key '{prefix}{key}'{hint}", file=path, key=f"{prefix}{key}")
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, f in fields.items():
        full = f"{prefix}{key}"
        if key not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"missing required key '{full}'", file=path, key=full)
            continue
        values[f.name] = _value(hints[f.name], f, data[key], path, full)
    return cls(**values)


def _value(kind: Any, f: dataclasses.Field[Any], value: Any, path: Path, key: str) -> Any:
    if dataclasses.is_dataclass(kind):
        return _build(kind, value if value is not None else {}, path, f"{key}.")  # type: ignore[arg-type]
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"'{key}' must be true or false, not {value!r}", file=path, key=key)
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**6:
            raise ConfigError(
                f"'{key}' must be a whole number from 0 to 999999, not {value!r}",
                file=path,
                key=key,
            )
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"'{key}' must be a string, not {value!r}", file=path, key=key)
    text = str(value)
    pattern = f.metadata.get("pattern")
    if pattern and not re.fullmatch(pattern, text):  # no trailing newline slips past '$'
        expect = f.metadata.get("expect")
        hint = f": expected {expect}" if expect else ""
        raise ConfigError(f"'{key}' has an invalid value {text!r}{hint}", file=path, key=key)
    if check := f.metadata.get("check"):
        check(text, path)
    return text


def to_yaml(config: FeedstockConfig) -> str:
    """The text ``init`` writes: every setting spelled out, each with its documentation."""
    lines = [
        "# pyodide-smithy.yml: this feedstock's settings. Edit them, then run",
        "# `pyodide-smithy rerender`. Reference: the pyodide-smithy docs, docs/config.md.",
    ]
    lines += _yaml_lines(config, indent="")
    return "\n".join(lines) + "\n"


def _yaml_lines(obj: Any, indent: str) -> list[str]:
    import json

    out: list[str] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        out.append(f"{indent}# {f.metadata['doc']}")
        if dataclasses.is_dataclass(value):
            out.append(f"{indent}{f.metadata['key']}:")
            out += _yaml_lines(value, indent + "  ")
        else:
            shown = ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)
            out.append(f"{indent}{f.metadata['key']}: {shown}")
    return out


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of ``pyodide-smithy.yml``, made from the dataclasses."""
    schema = _schema_of(FeedstockConfig)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://pyodide-smithy.readthedocs.io/schema/pyodide-smithy.schema.json",
        "title": "pyodide-smithy.yml",
        **schema,
    }


def _schema_of(cls: Any) -> dict[str, Any]:
    hints = get_type_hints(cls)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            prop = _schema_of(kind)
        else:
            types = {bool: "boolean", int: "integer"}
            prop = {"type": types.get(kind, "string")}
            if kind is int:
                prop |= {"minimum": 0, "maximum": 10**6 - 1}
            if "pattern" in f.metadata:
                prop["pattern"] = f.metadata["pattern"]
        prop["description"] = f.metadata["doc"]
        if f.default is not dataclasses.MISSING:
            prop["default"] = f.default
        elif f.default_factory is dataclasses.MISSING:
            required.append(f.metadata["key"])
        props[f.metadata["key"]] = prop
    out: dict[str, Any] = {
        "type": "object",
        "description": (cls.__doc__ or "").strip(),
        "properties": props,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    return out


def replace_xbuildenv_pin(text: str, version: str, path: Path) -> str:
    """``text`` with the ``xbuildenv`` value replaced in place: comments, quoting and layout kept.

    ruamel.yaml's round trip finds where the value is; only that token changes, so the diff a
    maintainer reviews is one line.
    """
    return replace_value(text, "xbuildenv", version, path)


def replace_build_number(text: str, number: int, path: Path) -> str:
    """``text`` with ``build-number`` set to ``number``: the value replaced in place, or, in a
    file written before the key existed, a line added after ``xbuildenv``."""
    return replace_value(text, "build-number", str(number), path, after="xbuildenv")


def replace_value(text: str, key: str, value: str, path: Path, *, after: str | None = None) -> str:
    """``text`` with the top-level ``key``'s value token replaced (quoting kept); when the key is
    missing and ``after`` names one, ``key: value`` is added on the line after that key's."""
    from smithy.yamlio import round_trip_load

    data = round_trip_load(text, path, error=ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"no '{key}' key to update", file=path, key=key)
    lines = text.splitlines(keepends=True)
    if key not in data:
        if after is None or after not in data:
            raise ConfigError(f"no '{key}' key to update", file=path, key=key)
        line_no = data.lc.key(after)[0]  # type: ignore[attr-defined]
        newline = "\n" if not lines[line_no].endswith("\n") else ""
        lines[line_no] += f"{newline}{key}: {value}\n"
        return "".join(lines)
    line_no, column = data.lc.value(key)  # type: ignore[attr-defined]
    line = lines[line_no]
    token = re.match(r"\"[^\"]*\"|'[^']*'|[^\s#]+", line[column:])
    if token is None:
        raise ConfigError(f"cannot locate the '{key}' value", file=path, key=key)
    quote = token.group()[0] if token.group()[0] in "\"'" else ""
    lines[line_no] = f"{line[:column]}{quote}{value}{quote}{line[column + token.end() :]}"
    return "".join(lines)
