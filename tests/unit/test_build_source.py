"""Source fetching without the network: names for the index fallback, the sha256 cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from smithy.build.model import BuildError
from smithy.build.source import (
    SOURCES,
    cached_source,
    fallback_project,
    fetch_source,
    url_filename,
)
from smithy.paths import cache_dir


@pytest.mark.parametrize(
    ("url", "filename", "project"),
    [
        (
            "https://files.pythonhosted.org/packages/source/p/packaging/packaging-26.1.tar.gz",
            "packaging-26.1.tar.gz",
            "packaging",
        ),
        (
            "https://files.pythonhosted.org/packages/py3/a/attrs/attrs-26.1.0-py3-none-any.whl",
            "attrs-26.1.0-py3-none-any.whl",
            "attrs",
        ),
        (
            "https://files.pythonhosted.org/packages/source/a/audioop_lts/audioop_lts-0.2.2.tar.gz",
            "audioop_lts-0.2.2.tar.gz",
            "audioop-lts",
        ),
        (
            "https://files.pythonhosted.org/packages/py2.py3/d/distlib/distlib-0.4.0-py2.py3-none-any.whl",
            "distlib-0.4.0-py2.py3-none-any.whl",
            "distlib",
        ),
        ("https://example.org/dl/Foo.Bar-1.0.zip?download=1", "Foo.Bar-1.0.zip", "foo-bar"),
        ("https://example.org/x/pkg-1.0%2Blocal.tar.gz", "pkg-1.0+local.tar.gz", "pkg"),
        ("https://github.com/o/r/archive/refs/tags/v1.2.tar.gz", "v1.2.tar.gz", None),
        ("https://example.org/releases/pkg-1.0.tar.bz2", "pkg-1.0.tar.bz2", None),
        ("https://example.org/pkg-1.0-weird.whl", "pkg-1.0-weird.whl", None),
        ("https://example.org/main.zip", "main.zip", None),
    ],
)
def test_index_fallback_names(url: str, filename: str, project: str | None) -> None:
    assert url_filename(url) == filename
    assert fallback_project(filename) == project


def put_in_cache(content: bytes, name: str) -> tuple[str, Path]:
    digest = hashlib.sha256(content).hexdigest()
    path = cache_dir() / SOURCES / digest / name
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    return digest, path


def test_a_cached_source_needs_no_request(tmp_path: Path) -> None:
    digest, path = put_in_cache(b"sdist bytes", "p-1.0.tar.gz")
    # the unit-test fixture forbids sockets: a request would fail the test
    fetched = fetch_source(
        "http://127.0.0.1:9/p-1.0.tar.gz", digest.upper(), meta_path=tmp_path / "meta.yaml"
    )
    assert fetched.path == path
    assert fetched.origin == "cache"


def test_a_damaged_cache_entry_is_dropped() -> None:
    digest, path = put_in_cache(b"good", "p-1.0.tar.gz")
    path.write_bytes(b"bad")
    assert cached_source(digest) is None
    assert not path.exists()


def test_a_sha256_that_is_not_one(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="not a sha256 digest") as info:
        fetch_source("https://example.invalid/p.tar.gz", "0", meta_path=tmp_path / "meta.yaml")
    assert info.value.key == "source.sha256"


def test_a_url_without_a_file_name(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no file name") as info:
        fetch_source("https://example.invalid/", "ab" * 32, meta_path=tmp_path / "meta.yaml")
    assert info.value.key == "source.url"
