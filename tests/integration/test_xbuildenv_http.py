"""The xbuildenv metadata over real HTTP on 127.0.0.1: the cache, and falling back from it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from smithy.xbuildenv import OFFLINE_SOURCE, load_catalog
from tests.conftest import METADATA
from tests.integration.pypi_server import FakeIndex, Served, serve


def test_cached_for_an_hour_then_stale_copy_when_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with serve(FakeIndex()) as index:
        index.routes["/meta.json"] = Served(METADATA.read_bytes(), "application/json")
        url = f"{index.base}/meta.json"
        monkeypatch.setenv("PYODIDE_CROSS_BUILD_ENV_METADATA_URL", url)
        assert load_catalog().latest().version == "314.0.5"
        assert load_catalog().source == url
        assert len(index.hits) == 1  # the second read came from the cache
    # The server is gone. A fresh cache is still used silently...
    assert load_catalog().latest().version == "314.0.5"
    assert capsys.readouterr().err == ""
    # ...a stale one is used with a warning...
    (cached,) = (Path(os.environ["PYODIDE_SMITHY_CACHE_DIR"])).glob("xbuildenv-metadata-*.json")
    old = time.time() - 7200
    os.utime(cached, (old, old))
    assert load_catalog().latest().version == "314.0.5"
    assert "using the cached copy" in capsys.readouterr().err
    # ...and without any copy, the pinned default.
    cached.unlink()
    catalog = load_catalog()
    assert catalog.source == OFFLINE_SOURCE
    assert "using the pinned default xbuildenv 314.0.5" in capsys.readouterr().err


def test_an_explicit_source_must_load(monkeypatch: pytest.MonkeyPatch) -> None:
    from smithy.errors import NetworkError

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with serve(FakeIndex()) as index, pytest.raises(NetworkError, match="HTTP 404"):
        load_catalog(f"{index.base}/missing.json")
