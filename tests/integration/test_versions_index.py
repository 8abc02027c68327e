"""The version check's index client against the package-index stand-in over real HTTP: one
conditional request per project, 304s reusing the kept page, 404 as "not on the index", HTML
for indexes without JSON, metadata and downloads checked by hash, many projects at once.

The last test (marked ``network``) asks the real https://pypi.org/simple/; it is opt-in.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smithy.errors import NetworkError, SmithyError
from smithy.recipe.pypi_index import IndexFile
from smithy.versions import index as index_module
from smithy.versions.index import IndexClient
from smithy.versions.select import newest
from tests.integration.pypi_server import (
    FakeIndex,
    Served,
    metadata,
    sdist,
    serve,
    sha256,
    wheel,
)

pytestmark = pytest.mark.integration

PY = "3.13.2"


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    with serve(FakeIndex()) as served:
        yield served


def client(index: FakeIndex, tmp_path: Path, **kwargs: Any) -> IndexClient:
    return IndexClient(f"{index.base}/simple/", cache=tmp_path / "pages", **kwargs)


def pure(name: str, version: str, **meta: Any) -> dict[str, Any]:
    dist = name.replace("-", "_")
    built = wheel(
        dist, version, "py3-none-any", {f"{dist}/__init__.py": b""}, metadata(name, version)
    )
    if meta.get("with_metadata"):
        built["metadata"] = metadata(name, version, *meta.get("headers", ()))
    return built | {"json": meta.get("json", {})}


def source(name: str, version: str, **json: Any) -> dict[str, Any]:
    dist = name.replace("-", "_")
    return sdist(dist, version, {"setup.py": b"", "PKG-INFO": metadata(name, version)}) | {
        "json": json
    }


def versions(files: list[IndexFile] | None) -> list[str]:
    assert files is not None
    return sorted({str(f.version) for f in files})


# one request per project, and 304s ------------------------------------------------------------


def test_one_request_per_project_and_a_304_reuses_the_kept_page(
    index: FakeIndex, tmp_path: Path
) -> None:
    index.add_project("proj", [source("proj", "1.0"), source("proj", "1.1")])
    first = client(index, tmp_path)
    assert versions(first.project("proj")) == ["1.0", "1.1"]
    assert first.requests == 1
    (hit,) = index.pages_served("proj")
    assert (hit.status, hit.if_none_match) == (200, None)
    assert hit.accept is not None
    assert hit.accept.startswith("application/vnd.pypi.simple.v1+json")

    # a later check (a new process: a new client over the same cache) asks with the ETag
    again = client(index, tmp_path)
    assert versions(again.project("Proj")) == ["1.0", "1.1"]
    assert again.requests == 1
    second = index.pages_served("proj")[1]
    assert second.status == 304
    assert second.sent == 0
    assert second.if_none_match is not None
    assert second.if_none_match.startswith('"')

    # upstream releases: the ETag no longer matches, the new page comes whole and is kept
    index.add_project("proj", [source("proj", "1.0"), source("proj", "1.1"), source("proj", "2.0")])
    third = client(index, tmp_path)
    found = third.project("proj")
    assert versions(found) == ["1.0", "1.1", "2.0"]
    assert [h.status for h in index.pages_served("proj")] == [200, 304, 200]
    update = newest(
        found or [], current="1.1", current_filename="proj-1.1.tar.gz", prereleases=False
    )
    assert update is not None
    assert update.version == "2.0"
    assert client(index, tmp_path).project("proj") == found
    assert [h.status for h in index.pages_served("proj")] == [200, 304, 200, 304]


def test_a_mirror_with_last_modified_gets_if_modified_since_too(tmp_path: Path) -> None:
    with serve(FakeIndex(last_modified=True)) as index:
        index.add_project("proj", [source("proj", "1.0")])
        client(index, tmp_path).project("proj")
        client(index, tmp_path).project("proj")
        first, second = index.pages_served("proj")
        assert first.if_modified_since is None
        assert second.if_modified_since is not None
        assert second.status == 304


def test_a_project_not_on_the_index_is_none_not_an_error(index: FakeIndex, tmp_path: Path) -> None:
    index.add_project("proj", [source("proj", "1.0")])
    c = client(index, tmp_path)
    assert c.project("proj") is not None
    del index.routes["/simple/proj/"]
    assert c.project("proj") is None
    assert c.project("never-was") is None
    assert c.requests == 3
    # the kept page went with it: nothing conditional is asked of a project that came back
    index.add_project("proj", [source("proj", "1.0")])
    assert c.project("proj") is not None
    assert index.pages_served("proj")[-1].if_none_match is None


def test_a_damaged_cache_costs_a_full_page_and_nothing_else(
    index: FakeIndex, tmp_path: Path
) -> None:
    index.add_project("proj", [source("proj", "1.0")])
    client(index, tmp_path).project("proj")
    (kept,) = (tmp_path / "pages").iterdir()
    kept.write_bytes(kept.read_bytes()[:-5])
    assert versions(client(index, tmp_path).project("proj")) == ["1.0"]
    assert [h.if_none_match is None for h in index.pages_served("proj")] == [True, True]


# what the pages hold --------------------------------------------------------------------------


def test_prereleases_and_a_constraint(index: FakeIndex, tmp_path: Path) -> None:
    index.add_project(
        "proj",
        [source("proj", v) for v in ("1.0", "1.5", "2.0", "2.1.0", "3.0b1")],
    )
    files = client(index, tmp_path).project("proj") or []

    def pick(**kwargs: Any) -> str | None:
        kwargs.setdefault("prereleases", False)
        update = newest(files, current="1.0", current_filename="proj-1.0.tar.gz", **kwargs)
        return update.version if update else None

    assert pick() == "2.1.0"
    assert pick(prereleases=True) == "3.0b1"
    assert pick(constraint="<3,!=2.1.0") == "2.0"
    assert pick(constraint="<2", prereleases=True) == "1.5"


def test_wheels_only_and_sdist_only_projects(index: FakeIndex, tmp_path: Path) -> None:
    index.add_project("wheels-only", [pure("wheels-only", "1.0"), pure("wheels-only", "2.0")])
    index.add_project("sdist-only", [source("sdist-only", "1.0"), source("sdist-only", "2.0")])
    index.add_project(
        "mixed", [source("mixed", "1.0"), source("mixed", "1.1"), pure("mixed", "2.0")]
    )
    pages = client(index, tmp_path).projects(["wheels-only", "sdist-only", "mixed"])

    def update(project: str, current_filename: str) -> tuple[str, str] | None:
        found = newest(
            pages[project] or [],
            current="1.0",
            current_filename=current_filename,
            prereleases=False,
        )
        return (found.filename, found.kind) if found else None

    assert update("wheels-only", "wheels_only-1.0-py3-none-any.whl") == (
        "wheels_only-2.0-py3-none-any.whl",
        "wheel",
    )
    assert update("sdist-only", "sdist_only-1.0.tar.gz") == ("sdist_only-2.0.tar.gz", "sdist")
    # an sdist recipe passes over the wheels-only 2.0 for 1.1, the newest release with an sdist
    assert update("mixed", "mixed-1.0.tar.gz") == ("mixed-1.1.tar.gz", "sdist")
    # and no wheel recipe gets an sdist, nor an sdist recipe a wheel
    assert update("sdist-only", "sdist_only-1.0-py3-none-any.whl") is None
    assert update("wheels-only", "wheels_only-1.0.tar.gz") is None


def test_yanked_files_are_skipped(index: FakeIndex, tmp_path: Path) -> None:
    index.add_project(
        "proj",
        [source("proj", "1.0"), source("proj", "1.1"), source("proj", "1.2", yanked="broken")],
    )
    files = client(index, tmp_path).project("proj") or []
    assert [f.yanked for f in files] == [False, False, True]
    update = newest(files, current="1.0", current_filename="proj-1.0.tar.gz", prereleases=False)
    assert update is not None
    assert update.version == "1.1"


def test_an_html_page_reads_as_the_json_one(
    index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index without PEP 691 answers HTML; the client reads the same files from it."""
    files = [
        source("proj", "1.0", **{"requires-python": ">=3.9"}),
        pure("proj", "1.1", with_metadata=True),
        source("proj", "1.2", yanked="broken"),
    ]
    index.add_project("proj", files)
    from_json = client(index, tmp_path / "json").project("proj")
    monkeypatch.setattr(index_module, "ACCEPT", "text/html")
    from_html = client(index, tmp_path / "html").project("proj")
    assert index.pages_served("proj")[-1].accept == "text/html"
    assert from_json is not None
    assert from_html is not None
    # sizes are JSON's alone (PEP 700); everything else is the same
    assert [dataclasses.replace(f, size=None) for f in from_json] == from_html
    assert from_html[1].metadata
    assert from_html[1].metadata_sha256 == sha256(files[1]["metadata"])
    assert from_html[2].yanked
    assert from_html[0].requires_python == ">=3.9"


# files ----------------------------------------------------------------------------------------


def test_metadata_is_fetched_when_advertised_and_checked(index: FakeIndex, tmp_path: Path) -> None:
    headers = ("Project-URL: Changelog, https://proj.example/changes", "Requires-Dist: six")
    index.add_project(
        "proj", [source("proj", "1.0"), pure("proj", "1.1", with_metadata=True, headers=headers)]
    )
    c = client(index, tmp_path)
    sdist_file, wheel_file = c.project("proj") or []
    assert c.metadata(sdist_file) is None  # not advertised: nothing asked
    assert c.requests == 1
    data = c.metadata(wheel_file)
    assert data is not None
    assert b"Requires-Dist: six" in data
    assert c.requests == 2
    index.routes[f"/files/{wheel_file.filename}.metadata"] = Served(b"Name: someone-else\n")
    with pytest.raises(NetworkError, match="does not match its sha256"):
        c.metadata(wheel_file)
    del index.routes[f"/files/{wheel_file.filename}.metadata"]
    assert c.metadata(wheel_file) is None


def test_a_download_is_checked_against_the_index_hash(index: FakeIndex, tmp_path: Path) -> None:
    built = source("proj", "1.0")
    index.add_project("proj", [built])
    c = client(index, tmp_path)
    (f,) = c.project("proj") or []
    assert c.download(f) == built["body"]
    index.routes[f"/files/{f.filename}"] = Served(b"something else")
    with pytest.raises(NetworkError, match="does not match its sha256"):
        c.download(f)


# failures -------------------------------------------------------------------------------------


def test_failures_name_the_project_and_the_index_without_credentials(
    index: FakeIndex, tmp_path: Path
) -> None:
    index.routes["/simple/refused/"] = Served(b"no", "text/plain")
    index.add_project("good", [source("good", "1.0")])
    host = index.base.removeprefix("http://")
    c = IndexClient(f"http://user:s3cret@{host}/simple", cache=tmp_path / "pages")
    with pytest.raises(NetworkError) as info:
        c.project("refused")
    message = str(info.value)
    assert "refused" in message
    assert f"http://***@{host}/simple/" in message
    assert "s3cret" not in message
    errors: dict[str, SmithyError] = {}
    pages = c.projects(["good", "refused"], errors=errors)
    assert list(pages) == ["good"]
    assert list(errors) == ["refused"]
    with pytest.raises(NetworkError, match="refused"):
        c.projects(["good", "refused"])
    for kept in (tmp_path / "pages").iterdir():
        assert b"s3cret" not in kept.read_bytes()

    down = IndexClient("http://user:s3cret@127.0.0.1:9/simple/", cache=tmp_path / "pages")
    with pytest.raises(NetworkError, match="cannot reach the package index") as info:
        down.project("proj")
    assert "s3cret" not in str(info.value)
    assert "the index page of proj" in str(info.value)


# many projects at once --------------------------------------------------------------------------


def test_three_hundred_projects_at_once(index: FakeIndex, tmp_path: Path) -> None:
    """Each page takes 50 ms to answer: one after the other that is 15 s, 16 at once under 2."""
    names = [f"proj-{i:03d}" for i in range(300)]
    for name in names:
        index.add_project(name, [source(name, "1.0"), source(name, "1.1")])
    index.delay = 0.05
    c = client(index, tmp_path, jobs=16)
    started = time.perf_counter()
    pages = c.projects([*names, "PROJ_000", "not-there"])
    elapsed = time.perf_counter() - started
    assert c.requests == 301  # PROJ_000 is proj-000: one request for both names
    assert pages["not-there"] is None
    assert versions(pages["PROJ_000"]) == versions(pages["proj-000"]) == ["1.0", "1.1"]
    assert all(versions(pages[name]) == ["1.0", "1.1"] for name in names)
    assert elapsed < 301 * index.delay / 4, elapsed
    index.delay = 0.0

    again = client(index, tmp_path, jobs=16)
    assert again.projects(names) == {name: pages[name] for name in names}
    assert again.requests == 300
    assert sum(h.status == 304 for h in index.hits) == 300


# the real PyPI (opt-in: pytest -m network) ------------------------------------------------------


@pytest.mark.network
def test_real_pypi(tmp_path: Path) -> None:
    """docopt publishes only an sdist, onnxruntime only wheels; pydantic-core has Pyodide wheels
    (``cp314-cp314-pyemscripten_2026_0_wasm32``) among thousands of files."""
    c = IndexClient("https://pypi.org/simple/", cache=tmp_path / "pages")
    pages = c.projects(["docopt", "onnxruntime", "pydantic-core", "no-such-project-x7q2"])
    assert c.requests == 4
    assert pages["no-such-project-x7q2"] is None
    docopt = pages["docopt"] or []
    assert docopt
    assert not any(f.wheel for f in docopt)
    old = newest(docopt, current="0.5.0", current_filename="docopt-0.5.0.tar.gz", prereleases=False)
    assert old is not None
    assert (old.kind, old.filename.endswith(".tar.gz")) == ("sdist", True)
    onnx = pages["onnxruntime"] or []
    assert onnx
    assert all(f.wheel for f in onnx)
    assert (
        newest(
            onnx, current="1.0.0", current_filename="onnxruntime-1.0.0.tar.gz", prereleases=False
        )
        is None
    )
    core = pages["pydantic-core"] or []
    was = "pydantic_core-2.50.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    update = newest(core, current="2.50.0", current_filename=was, prereleases=False)
    assert update is not None
    assert update.filename.endswith("-cp314-cp314-pyemscripten_2026_0_wasm32.whl")
    assert update.url.startswith("https://files.pythonhosted.org/")
    sdist_update = newest(
        core, current="2.50.0", current_filename="pydantic_core-2.50.0.tar.gz", prereleases=False
    )
    assert sdist_update is not None
    assert sdist_update.kind == "sdist"
    print(
        f"\nreal PyPI: docopt newest sdist {old.filename}; onnxruntime {len(onnx)} wheels, no "
        f"sdist; pydantic-core {len(core)} files, Pyodide wheel {update.filename}; sdist "
        f"{sdist_update.filename}; {c.requests} requests"
    )
    # Pages are kept only when they come with a validator: PyPI sends an ETag, but a proxy
    # on the way may drop it, and then every check is a whole page (still one request).
    kept = sorted(p.name for p in (tmp_path / "pages").glob("*.page"))
    again = IndexClient("https://pypi.org/simple/", cache=tmp_path / "pages")
    assert again.projects(["docopt", "pydantic-core"]).keys() == {"docopt", "pydantic-core"}
    assert again.requests == 2
    print(f"pages kept with a validator: {len(kept)} of 3")
