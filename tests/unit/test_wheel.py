"""Wheels are checked before anything is sent: name, METADATA, platform; a summary may be blank."""

from __future__ import annotations

from pathlib import Path

import pytest

from smithy.channel.upload import check_wheels
from smithy.channel.wheel import check_platform, read_wheel
from smithy.errors import WheelError
from smithy.platform import abi_of, platforms_for
from smithy.xbuildenv import load_catalog
from tests.conftest import METADATA
from tests.helpers import make_build
from tests.wheels import make_wheel


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(str(METADATA))


def test_good_wheel(tmp_path: Path) -> None:
    wheel = read_wheel(make_wheel(tmp_path, "Tiny-Pkg", "1.0", requires=("six>=1",)))
    assert wheel.name == "Tiny-Pkg"
    assert wheel.project == "tiny-pkg"
    assert wheel.platforms == {"any"}
    assert wheel.requires_dist == ("six>=1",)
    assert len(wheel.sha256) == 64


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"meta_name": "other"}, "METADATA Name 'other'"),
        ({"meta_version": "2.0"}, "METADATA Version '2.0'"),
    ],
)
def test_metadata_must_agree(tmp_path: Path, kwargs: dict[str, str | None], words: str) -> None:
    path = make_wheel(tmp_path, "tiny", "1.0", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(WheelError, match=words):
        read_wheel(path)


@pytest.mark.parametrize("summary", [None, "", "   ", "UNKNOWN"])
def test_a_missing_or_blank_summary_is_no_refusal(tmp_path: Path, summary: str | None) -> None:
    """Anaconda.org takes a blank summary (pyodide-recipes uploads with ``--summary=" "``); only
    anaconda-client refuses none. The wheel goes, with a blank summary the channel fills in."""
    wheel = read_wheel(make_wheel(tmp_path, "tiny", "1.0", summary=summary))
    assert wheel.summary == ""
    assert check_wheels([wheel.path], None) == [wheel]


def test_the_summary_is_one_line(tmp_path: Path) -> None:
    wheel = read_wheel(make_wheel(tmp_path, "tiny", "1.0", summary="  A   tiny\tpackage "))
    assert wheel.summary == "A tiny package"


def test_bad_names_and_files(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-wheel.whl"
    bad.write_bytes(b"zip? no")
    with pytest.raises(WheelError, match="not a valid wheel file name"):
        read_wheel(bad)
    fake = tmp_path / "tiny-1.0-py3-none-any.whl"
    fake.write_bytes(b"not a zip")
    with pytest.raises(WheelError, match="not a readable wheel"):
        read_wheel(fake)
    with pytest.raises(WheelError, match="no such file"):
        read_wheel(tmp_path / "gone-1.0-py3-none-any.whl")


def test_platforms_fit_the_xbuildenv(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    x314, x315, x027 = catalog.get("314.0.5"), catalog.get("315.0.0a2"), catalog.get("0.27.7")
    assert abi_of(x314) == "2026_0"
    assert abi_of(x315) == "2026_5"  # as npm pyodide 315.0.0-alpha.2's lock says: no formula
    assert abi_of(x027) == "2024_0"
    assert "pyodide_2026_0_wasm32" in platforms_for(x314)
    new = read_wheel(make_wheel(tmp_path, "c", "1.0", tag="cp314-cp314-pyemscripten_2026_0_wasm32"))
    check_platform(new, x314)
    check_platform(new, None)
    with pytest.raises(WheelError, match="does not fit xbuildenv 315.0.0a2"):
        check_platform(new, x315)
    linux = read_wheel(make_wheel(tmp_path, "d", "1.0", tag="cp314-cp314-manylinux_2_17_x86_64"))
    with pytest.raises(WheelError, match="not a Pyodide platform"):
        check_platform(linux, None)
    other_python = make_wheel(tmp_path, "e", "1.0", tag="cp313-cp313-pyemscripten_2026_0_wasm32")
    with pytest.raises(WheelError, match="do not fit xbuildenv 314.0.5: its Python is 3.14"):
        check_platform(read_wheel(other_python), x314)


def test_metadata_name_must_be_a_project_name(tmp_path: Path) -> None:
    """The METADATA Name goes into Anaconda.org's URL paths as written: nothing but a name."""
    path = make_wheel(tmp_path, "tiny", "1.0", meta_name="../tiny")
    with pytest.raises(WheelError, match=r"METADATA Name '\.\./tiny' is not a valid project name"):
        read_wheel(path)


def test_inside_a_feedstock_only_its_package_goes(tmp_path: Path) -> None:
    ours = make_wheel(tmp_path, "Example_Pkg", "1.0")
    other = make_wheel(tmp_path, "micropip", "0.9")
    assert [w.filename for w in check_wheels([ours], None, package="example-pkg")] == [ours.name]
    with pytest.raises(WheelError) as caught:
        check_wheels([other], None, package="example-pkg")
    assert str(caught.value) == (
        f"micropip is not an output of this feedstock, which builds example-pkg ({other})"
    )
    assert len(check_wheels([ours, other], None)) == 2  # outside a feedstock: any valid wheel


def test_a_library_wheel_fits_its_abi_only(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    """``py3-none-pyemscripten_<abi>_wasm32`` (smithy.library's format) uploads like any wheel
    for its own ABI, a build tag in its name, and is refused for another."""
    path = make_build(
        tmp_path,
        "libx",
        "1.0",
        0,
        tag="py3-none-pyemscripten_2026_0_wasm32",
        files={"libx.so": b"\0asm"},
        library="shared_library",
    )
    wheel = read_wheel(path)
    assert wheel.name == "libx"
    check_platform(wheel, catalog.get("314.0.5"))
    check_platform(wheel, None)
    assert check_wheels([path], catalog.get("314.0.5"), package="libx") == [wheel]
    with pytest.raises(WheelError, match="does not fit xbuildenv 315.0.0a2"):
        check_platform(wheel, catalog.get("315.0.0a2"))
