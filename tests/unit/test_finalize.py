"""A built wheel finalized: build tag, WHEEL's Build, Requires-Dist from the recipe, RECORD."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from packaging.metadata import Metadata
from wheel.wheelfile import WheelFile  # type: ignore[import-untyped]

from smithy.build.finalize import (
    UPSTREAM_METADATA,
    build_tagged,
    finalize_wheel,
    read_requirements,
    rewrite_metadata,
)
from smithy.build.model import BuildError
from smithy.platform import parse_wheel_name
from smithy.xbuildenv import PINNED_DEFAULT
from tests.wheels import make_wheel

INFO = "tiny-1.0.dist-info"
UPSTREAM = (
    "numpy>=1.22",
    "pytest>=8; extra == 'test'",
    "tomli; python_version < '3.11'",
    "pywin32; sys_platform == 'win32'",
    "six; sys_platform == 'emscripten'",
)


def finalize(wheel: Path, number: int = 0, run: tuple[str, ...] = ("pytz", "six")) -> Path:
    return finalize_wheel(
        wheel,
        build_number=number,
        run_requirements=run,
        xbuildenv=PINNED_DEFAULT,
        meta_path=wheel.parent / "recipe" / "meta.yaml",
    )


def member(wheel: Path, name: str) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(name)


def headers(text: bytes, field: str) -> list[str]:
    prefix = f"{field}: "
    return [line[len(prefix) :] for line in text.decode().splitlines() if line.startswith(prefix)]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# the build tag ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "number", "expected"),
    [
        ("tiny-1.0-py3-none-any.whl", 0, "tiny-1.0-0-py3-none-any.whl"),
        ("tiny-1.0-7-py3-none-any.whl", 3, "tiny-1.0-3-py3-none-any.whl"),
        ("tiny-1.0-7abc-py3-none-any.whl", 0, "tiny-1.0-0-py3-none-any.whl"),
        (
            "Tiny_Pkg-2.1.post1-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
            12,
            "Tiny_Pkg-2.1.post1-12-cp314-cp314-pyemscripten_2026_0_wasm32.whl",
        ),
        (
            "libfoo-1.3-py3-none-pyemscripten_2026_0_wasm32.whl",
            1,
            "libfoo-1.3-1-py3-none-pyemscripten_2026_0_wasm32.whl",
        ),
    ],
)
def test_build_tagged(filename: str, number: int, expected: str) -> None:
    assert build_tagged(filename, number) == expected
    assert parse_wheel_name(expected).build_number == number


def test_the_build_tag_goes_on_the_name_and_into_wheel(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0", requires=UPSTREAM)
    done = finalize(wheel)
    assert done == tmp_path / "tiny-1.0-0-py3-none-any.whl"
    assert sorted(p.name for p in tmp_path.glob("*.whl")) == [done.name]  # the old one is gone
    assert not list(tmp_path.glob(".*"))  # no partial file left behind
    assert headers(member(done, f"{INFO}/WHEEL"), "Build") == ["0"]
    assert headers(member(done, f"{INFO}/WHEEL"), "Tag") == ["py3-none-any"]


def test_an_earlier_build_tag_is_replaced(tmp_path: Path) -> None:
    first = finalize(make_wheel(tmp_path, "tiny", "1.0", requires=UPSTREAM), 7)
    assert first.name == "tiny-1.0-7-py3-none-any.whl"
    again = finalize(first, 3)
    assert again.name == "tiny-1.0-3-py3-none-any.whl"
    assert not first.exists()
    assert headers(member(again, f"{INFO}/WHEEL"), "Build") == ["3"]


# RECORD and determinism ---------------------------------------------------------------------


def test_record_lists_every_member_with_its_hash(tmp_path: Path) -> None:
    done = finalize(make_wheel(tmp_path, "tiny", "1.0", requires=UPSTREAM))
    with WheelFile(done) as wf:  # the wheel package checks each hash against RECORD on read
        for name in wf.namelist():
            wf.read(name)
    with zipfile.ZipFile(done) as archive:
        rows = list(csv.reader(io.StringIO(archive.read(f"{INFO}/RECORD").decode())))
        contents = {n: archive.read(n) for n in archive.namelist()}
    assert rows[-1] == [f"{INFO}/RECORD", "", ""]
    listed = {path: (digest, size) for path, digest, size in rows[:-1]}
    assert set(listed) == set(contents) - {f"{INFO}/RECORD"}
    for path, data in contents.items():
        if path in listed:
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert listed[path] == (f"sha256={digest.decode()}", str(len(data))), path
    assert f"{INFO}/{UPSTREAM_METADATA}" in listed


def test_the_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    one = finalize(make_wheel(tmp_path / "a", "tiny", "1.0", requires=UPSTREAM), 2)
    two = finalize(make_wheel(tmp_path / "b", "tiny", "1.0", requires=UPSTREAM), 2)
    assert sha256(one) == sha256(two)
    before = sha256(one)
    assert sha256(finalize(one, 2)) == before  # finalizing a finalized wheel changes nothing
    assert sha256(finalize(one, 3)) != before


def test_new_and_changed_members_take_the_time_of_metadata(tmp_path: Path) -> None:
    wheel = tmp_path / "tiny-1.0-py3-none-any.whl"
    times = {
        "tiny/__init__.py": (2021, 5, 6, 7, 8, 10),
        f"{INFO}/METADATA": (2022, 2, 3, 4, 5, 6),
        f"{INFO}/WHEEL": (2023, 1, 1, 0, 0, 0),
        f"{INFO}/RECORD": (2023, 1, 1, 0, 0, 0),
    }
    texts = {
        "tiny/__init__.py": "",
        f"{INFO}/METADATA": "Metadata-Version: 2.1\nName: tiny\nVersion: 1.0\n",
        f"{INFO}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{INFO}/RECORD": "",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, when in times.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=when), texts[name])
    with zipfile.ZipFile(finalize(wheel, run=())) as archive:
        found = {i.filename: i.date_time for i in archive.infolist()}
        methods = {i.compress_type for i in archive.infolist()}
        order = archive.namelist()
    metadata_time = times[f"{INFO}/METADATA"]
    assert found == {
        "tiny/__init__.py": times["tiny/__init__.py"],
        f"{INFO}/METADATA": metadata_time,
        f"{INFO}/{UPSTREAM_METADATA}": metadata_time,
        f"{INFO}/WHEEL": metadata_time,
        f"{INFO}/RECORD": metadata_time,
    }
    assert order[-1] == f"{INFO}/RECORD"
    assert methods == {zipfile.ZIP_DEFLATED}


# Requires-Dist from the recipe --------------------------------------------------------------

METADATA = (
    "Metadata-Version: 2.4\n"
    "Name: tiny\n"
    "Version: 1.0\n"
    "Summary: Small\n"
    "Requires-Dist: numpy>=1.22\n"
    "Requires-Dist: pytest>=8; extra == 'test'\n"
    "Requires-Dist: tomli; python_version < '3.11'\n"
    "Provides-Extra: test\n"
    "Requires-Dist: sphinx; extra == 'docs'\n"
    "Requires-Dist: a-long-name-that-was-folded;\n"
    "   python_version >= '3.8'\n"
    "Provides-Extra: docs\n"
    "Description-Content-Type: text/markdown\n"
    "\n"
    "# Tiny\n"
    "Requires-Dist: in the description, untouched\n"
)


def test_requires_dist_becomes_the_recipes_and_extras_stay() -> None:
    out = rewrite_metadata(METADATA.encode(), ["pytz", "six>=1.16"]).decode()
    assert out == (
        "Metadata-Version: 2.4\n"
        "Name: tiny\n"
        "Version: 1.0\n"
        "Summary: Small\n"
        "Requires-Dist: pytz\n"
        "Requires-Dist: six>=1.16\n"
        "Requires-Dist: pytest>=8; extra == 'test'\n"
        "Provides-Extra: test\n"
        "Requires-Dist: sphinx; extra == 'docs'\n"
        "Provides-Extra: docs\n"
        "Description-Content-Type: text/markdown\n"
        "\n"
        "# Tiny\n"
        "Requires-Dist: in the description, untouched\n"
    )
    checked = Metadata.from_email(out, validate=True)
    assert [str(r) for r in checked.requires_dist or []] == [
        "pytz",
        "six>=1.16",
        'pytest>=8; extra == "test"',
        'sphinx; extra == "docs"',
    ]


def test_an_empty_recipe_list_leaves_only_the_extras() -> None:
    out = rewrite_metadata(METADATA.encode(), []).decode()
    assert "numpy" not in out
    assert "tomli" not in out
    assert "folded" not in out
    assert "python_version >= '3.8'" not in out  # its continuation line went with it
    assert out.count("Requires-Dist:") == 3  # the two extras and the description's line


def test_crlf_metadata_keeps_its_line_ends() -> None:
    text = "Metadata-Version: 2.1\r\nName: tiny\r\nVersion: 1.0\r\nRequires-Dist: numpy\r\n"
    assert rewrite_metadata(text.encode(), ["pytz"]) == text.replace("numpy", "pytz").encode()
    bare = "Metadata-Version: 2.1\r\nName: tiny\r\nVersion: 1.0\r\n\r\nbody\r\n"
    assert (
        rewrite_metadata(bare.encode(), ["pytz"])
        == bare.replace("\r\n\r\n", "\r\nRequires-Dist: pytz\r\n\r\n").encode()
    )


def test_a_last_line_without_its_end_gets_one_before_more_follow() -> None:
    text = b"Metadata-Version: 2.1\nName: tiny\nVersion: 1.0"
    assert rewrite_metadata(text, ["pytz"]) == text + b"\nRequires-Dist: pytz\n"
    assert rewrite_metadata(text, []) == text


def test_upstream_metadata_is_kept_byte_for_byte_and_passes_strict_checks(
    tmp_path: Path,
) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0", requires=UPSTREAM)
    original = member(wheel, f"{INFO}/METADATA")
    done = finalize(wheel)
    assert member(done, f"{INFO}/{UPSTREAM_METADATA}") == original
    metadata = member(done, f"{INFO}/METADATA")
    checked = Metadata.from_email(metadata, validate=True)
    assert [str(r) for r in checked.requires_dist or []] == [
        "pytz",
        "six",
        'pytest>=8; extra == "test"',
    ]
    assert read_requirements(done) == (
        ["pytz", "six", "pytest>=8; extra == 'test'"],
        list(UPSTREAM),
    )
    with zipfile.ZipFile(done) as archive:  # an open archive does as well
        assert read_requirements(archive)[1] == list(UPSTREAM)


def test_a_wheel_never_finalized_has_no_upstream(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0", requires=("numpy",))
    assert read_requirements(wheel) == (["numpy"], None)


def test_a_second_finalize_keeps_the_first_upstream(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0", requires=UPSTREAM)
    original = member(wheel, f"{INFO}/METADATA")
    done = finalize(finalize(wheel, run=("pytz",)), 1, run=("attrs",))
    assert member(done, f"{INFO}/{UPSTREAM_METADATA}") == original
    assert read_requirements(done)[0] == ["attrs", "pytest>=8; extra == 'test'"]


# the warning ------------------------------------------------------------------------------


def test_differences_for_this_pyodide_are_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # upstream for Pyodide (Python 3.14, emscripten): numpy and six; tomli, pywin32 and the
    # extra do not count
    finalize(make_wheel(tmp_path, "tiny", "1.0", requires=UPSTREAM), run=("pytz", "Six"))
    err = capsys.readouterr().err
    assert (
        "warning: recipe requirements.run differs from upstream's Requires-Dist: "
        "adds pytz; drops numpy\n"
    ) in err


@pytest.mark.parametrize(
    ("upstream", "run"),
    [
        (UPSTREAM, ("NumPy", "six")),  # the same names for this Pyodide, as canonical names
        ((), ()),  # nothing upstream, nothing in the recipe
    ],
)
def test_no_warning_when_they_agree(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    upstream: tuple[str, ...],
    run: tuple[str, ...],
) -> None:
    finalize(make_wheel(tmp_path, "tiny", "1.0", requires=upstream), run=run)
    assert "warning" not in capsys.readouterr().err


def test_only_drops_or_only_adds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    finalize(make_wheel(tmp_path / "a", "tiny", "1.0", requires=("a", "b")), run=())
    assert "Requires-Dist: drops a, b\n" in capsys.readouterr().err
    finalize(make_wheel(tmp_path / "b", "tiny", "1.0"), run=("c",))
    assert "Requires-Dist: adds c\n" in capsys.readouterr().err


# errors -----------------------------------------------------------------------------------


def test_a_bad_run_requirement_names_meta_yaml(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "tiny", "1.0")
    before = wheel.read_bytes()
    with pytest.raises(BuildError, match=r"^'numpy >=' is not a requirement: ") as info:
        finalize(wheel, run=("pytz", "numpy >="))
    assert info.value.key == "requirements.run"
    assert info.value.file == str(tmp_path / "recipe" / "meta.yaml")
    assert "\n" not in str(info.value)
    assert wheel.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [wheel.name]


def test_a_wheel_without_dist_info_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "tiny-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tiny/__init__.py", "")
    with pytest.raises(BuildError, match="no single .dist-info with METADATA and WHEEL"):
        finalize(wheel)
    assert wheel.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [wheel.name]
