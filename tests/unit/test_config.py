"""pyodide-smithy.yml: validation with "did you mean", and a JSON Schema made from the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smithy.config import (
    FeedstockConfig,
    json_schema,
    load_config,
    parse_config,
    replace_build_number,
    replace_xbuildenv_pin,
    to_yaml,
)
from smithy.errors import ConfigError
from tests.conftest import ROOT

SCHEMA_DOC = ROOT / "docs" / "pyodide-smithy.schema.json"


def parse(data: object) -> FeedstockConfig:
    return parse_config(data, Path("pyodide-smithy.yml"))


def error(data: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(data)
    return info.value


def test_defaults() -> None:
    config = parse({"xbuildenv": "314.0.5"})
    assert config.channel.url == "anaconda://pyodide"
    assert config.channel.label == "staging"
    assert config.tests is True
    assert config.bot.migrations is True
    assert config.bot.prereleases is False
    assert config.bot.version_updates is True
    assert config.bot.version_prereleases is False
    assert config.bot.versions == ""


def test_written_text_reads_back_the_same(tmp_path: Path) -> None:
    config = parse({"xbuildenv": "315.0.0a2", "pure-python": True, "bot": {"automerge": True}})
    path = tmp_path / "pyodide-smithy.yml"
    path.write_text(to_yaml(config))
    assert load_config(path) == config
    assert path.read_text().startswith("# pyodide-smithy.yml")


def test_unknown_key_suggests() -> None:
    err = error({"xbuildenv": "314.0.5", "chanel": {}})
    assert err.key == "chanel"
    assert "did you mean 'channel'" in err.message


def test_unknown_nested_key_has_its_path() -> None:
    err = error({"xbuildenv": "314.0.5", "bot": {"automerg": True}})
    assert err.key == "bot.automerg"
    assert "did you mean 'automerge'" in err.message


def test_missing_xbuildenv() -> None:
    assert error({}).key == "xbuildenv"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"xbuildenv": "latest!"}, "xbuildenv"),
        ({"xbuildenv": "314.0.5", "tests": "yes"}, "tests"),
        ({"xbuildenv": "314.0.5", "channel": {"label": "has space"}}, "channel.label"),
        ({"xbuildenv": "314.0.5", "channel": "anaconda://x"}, "channel"),
        ({"xbuildenv": ["314"]}, "xbuildenv"),
        ({"xbuildenv": "314.0.5\n"}, "xbuildenv"),  # '$' alone would let a newline through
        ({"xbuildenv": "314.0.5", "pyodide-build": "0.39.2\n  shell: sh"}, "pyodide-build"),
        ({"xbuildenv": "314.0.5", "pyodide-smithy": "main"}, "pyodide-smithy"),
    ],
)
def test_bad_values_name_their_key(data: object, key: str) -> None:
    assert error(data).key == key


HOSTILE_CHANNELS = [
    "https://x.example/${{ secrets.ANACONDA_API_TOKEN }}",  # a GitHub expression in a step name
    "https://x.example/${{secrets.ANACONDA_API_TOKEN}}",
    "https://x.example/`<!--",  # ends the README's code span
    "https://x.example/a\n  shell: sh",
    '/srv/ch"annel',
    "/srv/$HOME",
    "/srv/a|b",
    "/srv/a\u202eb",
    "/srv/a\x1b[2J",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("url", HOSTILE_CHANNELS)
@pytest.mark.parametrize("key", ["url", "staging-url"])
def test_channel_values_that_could_reach_a_workflow_are_refused(url: str, key: str) -> None:
    err = error({"xbuildenv": "314.0.5", "channel": {key: url}})
    assert err.key == f"channel.{key}"
    assert "expected" in err.message
    assert "\n" not in err.message


@pytest.mark.parametrize(
    "url",
    [
        "anaconda://pyodide",
        "https://channel.example/pyodide?x=1#y",
        "http://127.0.0.1:8080/simple",
        "file:///srv/channel",
        "/srv/channel",
        "relative/channel",
        "C:\\channels\\pyodide",
    ],
)
def test_channel_values_people_use_are_accepted(url: str) -> None:
    assert parse({"xbuildenv": "314.0.5", "channel": {"url": url}}).channel.url == url


def test_schema_says_the_same_channel_rule() -> None:
    """JSON Schema patterns are searched, not matched whole: the anchors must do that work."""
    import re

    channel = json_schema()["properties"]["channel"]["properties"]
    for key in ("url", "staging-url"):
        pattern = channel[key]["pattern"]
        for url in HOSTILE_CHANNELS:
            assert re.search(pattern, url) is None, (key, url)
        assert re.search(pattern, "anaconda://pyodide")


def test_top_level_must_be_a_mapping() -> None:
    assert "mapping" in error(["a"]).message


def test_invalid_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "pyodide-smithy.yml"
    path.write_text("xbuildenv: [\n")
    with pytest.raises(ConfigError, match="line 2, column 1"):
        load_config(path)


def test_pin_change_keeps_comments() -> None:
    text = '# mine\nxbuildenv: "314.0.5"  # pinned by hand\ntests: false\n'
    out = replace_xbuildenv_pin(text, "315.0.0a2", Path("pyodide-smithy.yml"))
    assert out == '# mine\nxbuildenv: "315.0.0a2"  # pinned by hand\ntests: false\n'


def test_schema_rejects_unknown_keys_and_documents_every_key() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["xbuildenv"]
    assert set(schema["properties"]) == {
        "xbuildenv",
        "pyodide-build",
        "pyodide-smithy",
        "pure-python",
        "build-number",
        "tests",
        "channel",
        "bot",
    }
    assert set(schema["properties"]["bot"]["properties"]) == {
        "migrations",
        "prereleases",
        "automerge",
        "version-updates",
        "version-prereleases",
        "versions",
    }
    number = schema["properties"]["build-number"]
    assert (number["type"], number["minimum"], number["default"]) == ("integer", 0, 0)
    assert schema["properties"]["bot"]["properties"]["prereleases"]["default"] is False
    for prop in schema["properties"].values():
        assert prop["description"]


def test_published_schema_is_current(update_golden: bool) -> None:
    text = json.dumps(json_schema(), indent=2) + "\n"
    if update_golden:
        SCHEMA_DOC.write_text(text)
    assert SCHEMA_DOC.read_text() == text, "run: pytest --update-golden"


def test_reference_page_is_current(update_golden: bool) -> None:
    from smithy.configdoc import reference_markdown

    page = ROOT / "docs" / "config.md"
    text = reference_markdown()
    if update_golden:
        page.write_text(text)
    assert page.read_text() == text, "run: pytest --update-golden"
    for key in ("`xbuildenv`", "`channel.label`", "`bot.prereleases`", "`pure-python`"):
        assert key in text


@pytest.mark.parametrize("bad", [True, -1, "3", 1.5, 10**6])
def test_a_build_number_is_a_whole_number(bad: object, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'build-number' must be a whole number"):
        parse_config({"xbuildenv": "314.0.5", "build-number": bad}, tmp_path / "p.yml")
    assert parse_config({"xbuildenv": "314.0.5"}, tmp_path / "p.yml").build_number == 0


def test_the_build_number_is_set_in_place_or_added_after_the_pin(tmp_path: Path) -> None:
    text = '# mine\nxbuildenv: "314.0.5"  # pinned\ntests: true\n'
    added = replace_build_number(text, 1, tmp_path / "p.yml")
    assert added == '# mine\nxbuildenv: "314.0.5"  # pinned\nbuild-number: 1\ntests: true\n'
    assert replace_build_number(added, 12, tmp_path / "p.yml") == added.replace(": 1\n", ": 12\n")


@pytest.mark.parametrize("rule", ["<3,!=2.1.0", ">=1.2, <2", "~=1.4", "==1.*", ""])
def test_a_versions_rule_is_a_specifier_set(rule: str) -> None:
    assert parse({"xbuildenv": "314.0.5", "bot": {"versions": rule}}).bot.versions == rule


@pytest.mark.parametrize(
    "rule", ["< three", "3", "<3,>", ">=1\n", "<3\n  shell: sh", "<3`", "latest", ">=1.0; x"]
)
def test_a_versions_rule_that_is_no_specifier_set_names_its_key(rule: str) -> None:
    err = error({"xbuildenv": "314.0.5", "bot": {"versions": rule}})
    assert err.key == "bot.versions"
    assert "specifier set" in err.message
    assert "\n" not in err.message
