"""What a version update's pull request says: changelog link, requirement changes, patches that
no longer find their files in the new source."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from smithy.errors import RecipeError
from smithy.versions.report import (
    RequirementChanges,
    changelog_url,
    missing_patch_targets,
    patch_targets,
    requirement_changes,
    source_members,
)

PY = "3.13.2"


def metadata(*headers: str) -> bytes:
    lines = ["Metadata-Version: 2.4", "Name: proj", "Version: 2.0", *headers]
    return ("\n".join(lines) + "\n\nProject-URL: Changelog, https://not.a.header/\n").encode()


# changelog --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label", ["Changelog", "changelog", "Change Log", "CHANGE-LOG", "Release Notes", "History"]
)
def test_the_changelog_label_is_found_however_it_is_written(label: str) -> None:
    meta = metadata(
        "Project-URL: Homepage, https://proj.example",
        f"Project-URL: {label}, https://proj.example/changes.html",
    )
    assert changelog_url(meta) == "https://proj.example/changes.html"


def test_changelog_wins_over_history_and_none_is_none() -> None:
    meta = metadata(
        "Project-URL: History, https://proj.example/history",
        "Project-URL: Changelog, https://proj.example/changelog",
    )
    assert changelog_url(meta) == "https://proj.example/changelog"
    # the body's text is no header; a home page or a source link is no changelog
    assert changelog_url(metadata("Project-URL: Source, https://github.com/o/proj")) is None
    assert changelog_url(b"") is None


@pytest.mark.parametrize(
    "url",
    [
        "http://proj.example/changes",
        "javascript:alert(1)",
        "https://proj.example/a)[click](https://evil.example",
        "https://proj.example/<script>",
        "https://proj.example/a b",
    ],
)
def test_a_changelog_link_that_is_no_plain_https_url_is_dropped(url: str) -> None:
    assert changelog_url(metadata(f"Project-URL: Changelog, {url}")) is None


# requirements -----------------------------------------------------------------------------------

OLD = metadata(
    "Requires-Dist: numpy>=1.22",
    "Requires-Dist: six",
    "Requires-Dist: typing-extensions>=4; python_version < '3.11'",
    "Requires-Dist: pytest; extra == 'test'",
)
NEW = metadata(
    "Requires-Dist: numpy>=2",
    "Requires-Dist: Attrs[tests]>=20",
    "Requires-Dist: pyodide-http; sys_platform == 'emscripten'",
    "Requires-Dist: pywin32; sys_platform == 'win32'",
    "Requires-Dist: tomli; python_version < '3.11'",
    "Requires-Dist: hypothesis; extra == 'test'",
    "Requires-Dist: this is not a requirement",
)


def test_requirement_changes_as_a_pyodide_sees_them() -> None:
    changes = requirement_changes(OLD, NEW, ("numpy", "attrs", "six"), PY)
    assert changes == RequirementChanges(
        added=("attrs>=20", "pyodide-http"),
        removed=("six",),
        not_in_recipe=("pyodide-http",),
        changed=("numpy: >=1.22 -> >=2",),
    )


def test_markers_are_evaluated_for_the_pythons_version() -> None:
    changes = requirement_changes(OLD, NEW, (), "3.10.2")
    assert "tomli" in changes.added
    assert "typing-extensions>=4" in changes.removed


def test_no_change_says_nothing() -> None:
    assert requirement_changes(OLD, OLD, (), PY) == RequirementChanges((), (), (), ())


# patches ----------------------------------------------------------------------------------------

ARGON2_PATCH = "argon2-cffi/patches/0001-Added-platform-check-for-parallelism-since-WASM-does.patch"


def test_a_real_patchs_targets(recipes_root: Path) -> None:
    text = (recipes_root / ARGON2_PATCH).read_text()
    assert patch_targets(text) == [
        "src/argon2/_password_hasher.py",
        "src/argon2/exceptions.py",
        "tests/test_password_hasher.py",
    ]


def test_files_a_real_patch_creates_are_no_targets(recipes_root: Path) -> None:
    text = (recipes_root / "libblis/patches/0001-Compile-BLIS-to-WebAssembly.patch").read_text()
    targets = patch_targets(text)
    assert "configure" in targets
    assert not any(t.startswith("config/wasm32/") for t in targets)


def test_every_real_patch_names_its_targets_without_the_a_prefix(recipes_root: Path) -> None:
    patches = sorted(recipes_root.glob("*/patches/*.patch"))
    assert len(patches) > 60
    for patch in patches:
        targets = patch_targets(patch.read_text(errors="replace"))
        assert targets, patch
        assert not any(t.startswith(("a/", "b/", "/")) for t in targets), patch


def test_lines_inside_hunks_are_never_headers() -> None:
    text = (
        "diff --git a/schema.sql b/schema.sql\n"
        "--- a/schema.sql\t2024-01-01 00:00:00\n"
        "+++ b/schema.sql\n"
        "@@ -1,3 +1,3 @@\n"
        "--- an SQL comment removed\n"
        "+++ an added line that looks like a header\n"
        " context\n"
        "-old\n"
        "\\ No newline at end of file\n"
        "+new\n"
        "--- a/gone.txt\n"
        "+++ /dev/null\n"
        "@@ -1 +0,0 @@\n"
        "-bye\n"
    )
    assert patch_targets(text) == ["schema.sql", "gone.txt"]


def sdist(root: str, names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name in names:
            member = tarfile.TarInfo(f"{root}/{name}" if root else name)
            member.size = 1
            tf.addfile(member, io.BytesIO(b"x"))
    return buffer.getvalue()


def test_patches_that_lost_their_files_in_the_new_source(recipes_root: Path) -> None:
    text = (recipes_root / ARGON2_PATCH).read_text()
    data = sdist(
        "argon2_cffi-25.1.0",
        ["src/argon2/_password_hasher.py", "tests/test_password_hasher.py", "PKG-INFO"],
    )
    members = source_members(data, "argon2_cffi-25.1.0.tar.gz")
    patches = {ARGON2_PATCH: text, "patches/other.patch": "--- a/PKG-INFO\n+++ b/PKG-INFO\n"}
    assert missing_patch_targets(patches, members, None) == {
        ARGON2_PATCH: ["src/argon2/exceptions.py"]
    }
    members.append("argon2_cffi-25.1.0/src/argon2/exceptions.py")
    assert missing_patch_targets(patches, members, None) == {}


def test_extract_dir_names_the_folder_and_no_single_folder_tells_nothing() -> None:
    patch = {"p.patch": "--- a/src/x.c\n+++ b/src/x.c\n"}
    members = ["CLAPACK-3.2.1/src/x.c", "CLAPACK-3.2.1/README", "other/src/y.c"]
    assert missing_patch_targets(patch, members, "CLAPACK-3.2.1") == {}
    assert missing_patch_targets(patch, members, "other") == {"p.patch": ["src/x.c"]}
    assert missing_patch_targets(patch, members, None) == {}  # two top-level folders
    assert missing_patch_targets(patch, ["x.c", "setup.py"], None) == {}  # a flat archive


def test_source_members_lists_zip_and_wheel_archives() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("proj-1.0/setup.py", "")
        zf.writestr("proj-1.0/proj/__init__.py", "")
    data = buffer.getvalue()
    expected = ["proj-1.0/setup.py", "proj-1.0/proj/__init__.py"]
    assert source_members(data, "proj-1.0.zip") == expected
    assert source_members(data, "proj-1.0-py3-none-any.whl") == expected
    assert source_members(sdist("./proj-1.0", ["a"]), "proj-1.0.tar.gz") == ["./proj-1.0/a"]


@pytest.mark.parametrize(
    ("data", "filename"),
    [(b"not an archive", "proj-1.0.tar.gz"), (b"PK\x03\x04broken", "proj-1.0.zip"), (b"", "x.rar")],
)
def test_an_unreadable_archive_is_a_recipe_error(data: bytes, filename: str) -> None:
    with pytest.raises(RecipeError, match=filename.replace(".", r"\.")):
        source_members(data, filename)
