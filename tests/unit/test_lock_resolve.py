"""The resolver on its own: markers, extras, pins, two versions, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from smithy.channel.model import ChannelFile
from smithy.lock.resolve import ResolutionError, resolve, tag_rank
from smithy.xbuildenv import PINNED_DEFAULT

REQUIRES = {
    "top_pkg-1.0-py3-none-any.whl": [
        "mid-pkg>=1",
        "host[fancy]",
        "emonly; sys_platform == 'emscripten'",
        "linuxonly; sys_platform == 'linux'",
        "newpy; python_version >= '3.14'",
    ],
    "mid_pkg-1.0-py3-none-any.whl": ["leaf"],
    "mid_pkg-2.0-py3-none-any.whl": ["leaf"],
    "leaf-0.1-cp314-cp314-pyemscripten_2026_0_wasm32.whl": [],
    "host-1.0-py3-none-any.whl": ["fancy-dep; extra == 'fancy'", "slow-dep; extra == 'slow'"],
    "fancy_dep-1.0-py3-none-any.whl": [],
    "emonly-1.0-py3-none-any.whl": [],
    "newpy-1.0-py3-none-any.whl": [],
    "linuxonly-1.0-cp314-cp314-manylinux_2_17_x86_64.whl": [],
    "old-1.0-cp313-cp313-pyodide_2025_0_wasm32.whl": [],
}


def channel_file(filename: str) -> ChannelFile:
    name, version = filename.split("-")[:2]
    return ChannelFile(
        package=name.replace("_", "-"),
        version=version,
        filename=filename,
        sha256="0" * 64,
        size=1,
        labels=("main",),
        upload_time="",
    )


def listing(files: dict[str, list[str]], asked: list[str] | None = None):  # type: ignore[no-untyped-def]
    """The channel's files of one project, as a channel lists one package; ``asked`` logs it."""
    every = [channel_file(f) for f in files]

    def files_of(name: str) -> list[ChannelFile]:
        if asked is not None:
            asked.append(name)
        return [f for f in every if f.project == canonicalize_name(name)]

    return files_of


def run(*requests: str, files: dict[str, list[str]] = REQUIRES, **kwargs):  # type: ignore[no-untyped-def]
    return resolve(
        list(requests),
        listing(files),
        PINNED_DEFAULT,
        materialize=lambda f: Path(f.filename),
        read_requires=lambda p: files[p.name],
        **kwargs,
    )


def test_closure_with_markers_extras_and_newest_versions() -> None:
    chosen = run("top-pkg")
    assert set(chosen) == {"top-pkg", "mid-pkg", "leaf", "host", "fancy-dep", "emonly", "newpy"}
    assert str(chosen["mid-pkg"].version) == "2.0"
    assert sorted(chosen["top-pkg"].depends) == ["emonly", "host", "mid-pkg", "newpy"]
    assert chosen["host"].depends == ["fancy-dep"]
    assert chosen["mid-pkg"].asked_by == "top-pkg 1.0"


def test_pins_win() -> None:
    assert str(run("mid-pkg==1.0")["mid-pkg"].version) == "1.0"


def test_every_problem_at_once_with_who_asked() -> None:
    files = {**REQUIRES, "top_pkg-1.0-py3-none-any.whl": ["missing-one", "mid-pkg>=3", "old"]}
    with pytest.raises(ResolutionError) as info:
        run("top-pkg", "nothing-here", "mid-pkg==9", files=files)
    assert info.value.problems == [
        "nothing-here (asked by the command line): nothing-here is not on the channel",
        "mid-pkg==9 (asked by the command line): no version fits; the channel has 2.0, 1.0",
        "missing-one (asked by top-pkg 1.0): missing-one is not on the channel",
        "mid-pkg>=3 (asked by top-pkg 1.0): no version fits; the channel has 2.0, 1.0",
        "old (asked by top-pkg 1.0): no wheel of old on the channel runs on this Pyodide",
    ]
    assert info.value.exit_code == 15


def test_conflict_with_an_earlier_choice() -> None:
    files = {**REQUIRES, "top_pkg-1.0-py3-none-any.whl": ["mid-pkg<2"]}
    with pytest.raises(
        ResolutionError, match=r"mid-pkg<2 \(asked by top-pkg 1.0\): mid-pkg 2.0 was chosen"
    ):
        run("mid-pkg", "top-pkg", files=files)


def test_tag_fit() -> None:
    assert tag_rank("a-1-cp314-cp314-pyemscripten_2026_0_wasm32.whl", PINNED_DEFAULT) == 0
    assert tag_rank("a-1-cp314-cp314-pyodide_2026_0_wasm32.whl", PINNED_DEFAULT) == 1
    assert tag_rank("a-1-cp312-abi3-pyemscripten_2026_0_wasm32.whl", PINNED_DEFAULT) == 3
    assert tag_rank("a-1-py3-none-any.whl", PINNED_DEFAULT) == 4
    assert tag_rank("a-1-cp313-cp313-pyemscripten_2026_0_wasm32.whl", PINNED_DEFAULT) is None
    assert tag_rank("a-1-cp314-cp314-pyemscripten_2027_0_wasm32.whl", PINNED_DEFAULT) is None
    assert tag_rank("a-1-py2-none-any.whl", PINNED_DEFAULT) is None


def test_only_the_projects_the_closure_reaches_are_listed_each_once() -> None:
    """A lock of mid-pkg lists mid-pkg and leaf, not the channel's other eight projects."""
    asked: list[str] = []
    chosen = resolve(
        ["mid-pkg", "leaf"],
        listing(REQUIRES, asked),
        PINNED_DEFAULT,
        materialize=lambda f: Path(f.filename),
        read_requires=lambda p: REQUIRES[p.name],
    )
    assert set(chosen) == {"mid-pkg", "leaf"}
    assert asked == ["mid-pkg", "leaf"]


def test_prefetch_hears_of_each_project_before_it_is_listed() -> None:
    """What waits in the queue is announced together, so a remote channel lists it at once."""
    batches: list[list[str]] = []
    asked: list[str] = []
    resolve(
        ["top-pkg"],
        listing(REQUIRES, asked),
        PINNED_DEFAULT,
        materialize=lambda f: Path(f.filename),
        read_requires=lambda p: REQUIRES[p.name],
        prefetch=lambda names: batches.append(list(names)),
    )
    assert batches[0] == ["top-pkg"]
    assert batches[1] == ["emonly", "host", "mid-pkg", "newpy"]  # top-pkg's needs, at once
    announced = [name for batch in batches for name in batch]
    assert sorted(announced) == sorted(set(announced)) == sorted(asked)


def test_the_channel_is_asked_with_the_name_as_the_requirement_spells_it() -> None:
    """A package anaconda-client made under METADATA Name (``Mid_Pkg``) is found by that name."""
    asked: list[str] = []
    resolve(
        ["Mid_Pkg>=2"],
        listing(REQUIRES, asked),
        PINNED_DEFAULT,
        materialize=lambda f: Path(f.filename),
        read_requires=lambda p: REQUIRES[p.name],
    )
    assert asked == ["Mid_Pkg", "leaf"]


@pytest.mark.parametrize(
    ("files", "wins"),
    [
        (  # a rebuild: the highest build of the version, an untagged file below build 0
            ["re-1.0-py3-none-any.whl", "re-1.0-1-py3-none-any.whl", "re-1.0-0-py3-none-any.whl"],
            "re-1.0-1-py3-none-any.whl",
        ),
        (  # a build number never outweighs a newer version
            ["re-1.1-0-py3-none-any.whl", "re-1.0-7-py3-none-any.whl"],
            "re-1.1-0-py3-none-any.whl",
        ),
        (  # PEP 427: the build tag breaks ties between otherwise equal names, as pip and
            # micropip (first listed of equal tags) choose
            ["re-1.0-1-py3-none-any.whl", "re-1.0-0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"],
            "re-1.0-0-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
        ),
        (
            ["re-1.0-9-py3-none-any.whl", "re-1.0-10-py3-none-any.whl"],  # 10 > 9, not by text
            "re-1.0-10-py3-none-any.whl",
        ),
    ],
)
def test_the_highest_build_of_a_version_wins(files: list[str], wins: str) -> None:
    chosen = run("re", files={f: [] for f in files})
    assert chosen["re"].file.filename == wins
