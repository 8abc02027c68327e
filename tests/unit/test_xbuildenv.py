"""The xbuildenv catalogue, read with pyodide-build's own metadata model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smithy.errors import XBuildEnvError
from smithy.xbuildenv import PINNED_DEFAULT, load_catalog
from tests.conftest import METADATA


def test_latest_stable_and_prerelease() -> None:
    catalog = load_catalog(str(METADATA))
    assert len(catalog.releases) == 44
    latest = catalog.latest()
    assert (latest.version, latest.python_version, latest.emscripten_version) == (
        "314.0.5",
        "3.14.2",
        "5.0.3",
    )
    assert catalog.latest(prereleases=True).version == "315.0.0a2"
    assert catalog.resolve("latest").version == "314.0.5"
    assert catalog.resolve("0.27.7").python_short == "3.12"


def test_pinned_default_matches_the_published_metadata() -> None:
    assert load_catalog(str(METADATA)).get(PINNED_DEFAULT.version) == PINNED_DEFAULT


def test_unknown_version_suggests() -> None:
    with pytest.raises(XBuildEnvError, match="did you mean 314.0.5"):
        load_catalog(str(METADATA)).get("314.0.6")


def test_npm_versions_and_abi() -> None:
    catalog = load_catalog(str(METADATA))
    assert catalog.get("315.0.0a2").npm_version == "315.0.0-alpha.2"
    assert catalog.get("314.0.5").npm_version == "314.0.5"
    assert catalog.get("315.0.0a2").abi_breaking_from(catalog.get("314.0.5"))
    assert not catalog.get("314.0.5").abi_breaking_from(catalog.get("314.0.4"))
    assert catalog.get("315.0.0a2").prerelease


def test_previous_stable_is_what_a_migration_moves_from() -> None:
    catalog = load_catalog(str(METADATA))
    assert catalog.previous_stable(catalog.get("315.0.0a2")) == catalog.get("314.0.5")
    assert catalog.previous_stable(catalog.get("314.0.5")) == catalog.get("314.0.4")
    assert catalog.previous_stable(catalog.get("314.0.0")) == catalog.get("0.29.4")
    assert catalog.previous_stable(catalog.get("0.25.0")) is None


def test_invalid_metadata(tmp_path: Path) -> None:
    bad = tmp_path / "meta.json"
    bad.write_text(json.dumps({"releases": {"1": {"version": "1"}}}))
    with pytest.raises(XBuildEnvError, match="invalid xbuildenv metadata"):
        load_catalog(str(bad))
    bad.write_text("{")
    with pytest.raises(XBuildEnvError, match="cannot read"):
        load_catalog(str(bad))


def test_environment_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYODIDE_CROSS_BUILD_ENV_METADATA_URL", str(METADATA))
    assert load_catalog().source == str(METADATA)


def test_offline_catalog_says_why_it_knows_one_release() -> None:
    from smithy.xbuildenv import OFFLINE_SOURCE, Catalog

    offline = Catalog((PINNED_DEFAULT,), OFFLINE_SOURCE)
    assert offline.resolve("latest") == PINNED_DEFAULT
    with pytest.raises(XBuildEnvError, match="metadata is unreachable"):
        offline.get("315.0.0a2")


def test_a_parsed_catalogue_is_reused_and_a_broken_one_reparsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pyodide_build.xbuildenv_releases import CrossBuildEnvMetaSpec

    from smithy.paths import cache_dir

    first = load_catalog(str(METADATA))
    (parsed,) = cache_dir().glob("xbuildenv-parsed-*.json")

    def refuse(data: object) -> object:
        raise AssertionError("parsed again")

    with monkeypatch.context() as patched:
        patched.setattr(CrossBuildEnvMetaSpec, "from_dict", refuse)
        assert load_catalog(str(METADATA)).releases == first.releases  # from the cache alone
    parsed.write_text('[{"version": 1}]')
    assert load_catalog(str(METADATA)).releases == first.releases
    assert len(json.loads(parsed.read_text())) == 44  # rewritten whole


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("python_version", "3.14.2\n  shell: sh"),
        ("emscripten_version", "5.0.3; curl x"),
        ("version", "314.0.5 "),
        ("url", "http://example.org/x.tar.gz"),
        ("sha256", "ab" * 31),
    ],
)
def test_an_xbuildenv_holds_only_the_shapes_pyodide_publishes(field: str, value: str) -> None:
    """One copy comes from a feedstock's manifest, and every value reaches generated CI."""
    import dataclasses

    with pytest.raises(ValueError, match=field):
        dataclasses.replace(PINNED_DEFAULT, **{field: value})
