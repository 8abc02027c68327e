"""Each lint rule, on a recipe that breaks it and on one that does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from smithy.lint.model import Finding, Level
from smithy.lint.run import LintOptions, LintResult, run_lint
from tests.helpers import write_recipe

SHA = "ab" * 32
GOOD = f"""\
package:
  name: example
  version: "1.2.0"
  top-level:
    - example
source:
  url: https://files.example/example-1.2.0.tar.gz
  sha256: {SHA}
requirements:
  run:
    - six
about:
  home: https://example.org
  summary: An example
  license: MIT
extra:
  recipe-maintainers:
    - alice
"""
WHEEL_URL = "https://files.example/example-1.2.0-py3-none-any.whl"


def lint(tmp_path: Path, text: str, *, folder: str = "example", **options: object) -> LintResult:
    write_recipe(tmp_path / folder, text)
    return run_lint(tmp_path / folder, LintOptions(**options))  # type: ignore[arg-type]


def found(result: LintResult, rule_id: str) -> list[Finding]:
    return [f for f in result.findings if f.id == rule_id]


def only(result: LintResult, rule_id: str) -> Finding:
    hits = found(result, rule_id)
    assert len(hits) == 1, result.findings
    return hits[0]


def test_a_complete_recipe_has_no_findings(tmp_path: Path) -> None:
    result = lint(tmp_path, GOOD)
    assert result.findings == ()
    result.check()  # no LintError


# PS0: reading ----------------------------------------------------------------------------------


def test_invalid_yaml_is_one_finding_with_its_line(tmp_path: Path) -> None:
    result = lint(tmp_path, GOOD + "about: [unclosed\n")
    assert [f.id for f in result.findings] == ["PS001"]
    assert result.findings[0].level is Level.ERROR
    assert result.findings[0].line == 20  # where the parser stopped: the end of the file
    assert "invalid YAML" in result.findings[0].message


@pytest.mark.parametrize("text", ["", "- a list\n", "just text\n"])
def test_a_recipe_that_is_no_mapping_is_one_finding(tmp_path: Path, text: str) -> None:
    result = lint(tmp_path, text)
    assert [(f.id, f.message) for f in result.findings] == [
        ("PS001", "a recipe must be a YAML mapping")
    ]


def test_aliases_are_refused_as_unreadable(tmp_path: Path) -> None:
    result = lint(tmp_path, GOOD.replace('version: "1.2.0"', "version: &v x\n  tag: [*v]"))
    assert [f.id for f in result.findings] == ["PS001"]
    assert "aliases" in result.findings[0].message


def test_unknown_key_names_it_and_suggests(tmp_path: Path) -> None:
    finding = only(lint(tmp_path, GOOD.replace("  sha256:", "  sha265:")), "PS002")
    assert finding.key == "source.sha265"
    assert finding.line == 8
    assert "did you mean 'sha256'?" in finding.message


def test_schema_refusal_is_one_finding(tmp_path: Path) -> None:
    result = lint(tmp_path, GOOD.replace(f"  sha256: {SHA}\n", ""))
    finding = only(result, "PS003")
    assert "sha256" in finding.message
    assert finding.level is Level.ERROR


def test_value_refused_by_pyodide_smithy(tmp_path: Path) -> None:
    finding = only(lint(tmp_path, GOOD.replace("- alice", "- 'al ice'")), "PS004")
    assert finding.key == "extra.recipe-maintainers[0]"
    assert finding.line == 18


def test_missing_patch_file_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace(f"  sha256: {SHA}\n", f"  sha256: {SHA}\n  patches: [gone.patch]\n")
    finding = only(lint(tmp_path, text), "PS004")
    assert finding.key == "source.patches[0]"
    assert "missing" in finding.message


def test_unknown_extra_key_suggests_the_known_one(tmp_path: Path) -> None:
    text = GOOD + "  recipe-maintainer: [bob]\n"
    finding = only(lint(tmp_path, text), "PS006")
    assert finding.key == "extra.recipe-maintainer"
    assert finding.level is Level.HINT
    assert "did you mean 'recipe-maintainers'?" in finding.message


# PS1: package and about ------------------------------------------------------------------------


def test_licence_missing_or_not_spdx(tmp_path: Path) -> None:
    assert only(lint(tmp_path, GOOD.replace("  license: MIT\n", "")), "PS101").line == 12  # about:
    assert not found(lint(tmp_path, GOOD), "PS102")
    for licence in ("Apache-2.0 OR MIT", "LicenseRef-Custom", "bsd-3-clause"):
        assert not found(lint(tmp_path, GOOD.replace("MIT", licence)), "PS102"), licence
    bad = only(lint(tmp_path, GOOD.replace("MIT", "'Apache 2.0'")), "PS102")
    assert "'Apache 2.0'" in bad.message


def test_summary_and_home(tmp_path: Path) -> None:
    assert only(lint(tmp_path, GOOD.replace("  summary: An example\n", "")), "PS103")
    no_home = GOOD.replace("  home: https://example.org\n", "")
    assert only(lint(tmp_path, no_home), "PS104")
    pypi = no_home.replace("about:\n", "about:\n  PyPI: https://pypi.org/project/example\n")
    assert not found(lint(tmp_path, pypi), "PS104")


def test_a_version_yaml_reads_as_another_number_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace('version: "1.2.0"', "version: 1.10").replace("1.2.0", "1.10")
    finding = only(lint(tmp_path, text), "PS105")
    assert finding.level is Level.ERROR
    assert finding.message == "package.version is written 1.10 but YAML reads it as the number 1.1"
    assert finding.fix == 'quote it: version: "1.10"'
    same = GOOD.replace('version: "1.2.0"', "version: 1.2").replace("1.2.0", "1.2")
    assert not found(lint(tmp_path, same), "PS105")


def test_name_differs_from_its_folder(tmp_path: Path) -> None:
    assert only(lint(tmp_path, GOOD, folder="other"), "PS106").key == "package.name"
    assert not found(lint(tmp_path, GOOD, folder="recipe"), "PS106")  # a feedstock's recipe/


# PS2: source -----------------------------------------------------------------------------------


def test_http_source_is_a_hint(tmp_path: Path) -> None:
    finding = only(lint(tmp_path, GOOD.replace("https://files", "http://files")), "PS201")
    assert (finding.level, finding.key, finding.line) == (Level.HINT, "source.url", 7)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/example/archive/refs/heads/main.tar.gz",
        "https://github.com/o/example/archive/master.zip",
        "https://gitlab.com/o/example/-/archive/main/example-main.tar.gz",
        "https://api.github.com/repos/o/example/tarball/HEAD",
        "https://codeload.github.com/o/example/tar.gz/refs/heads/develop",
        "https://github.com/o/example/releases/latest/download/example.tar.gz",
        "https://bitbucket.org/o/example/get/trunk.tar.gz",
    ],
)
def test_moving_sources_are_errors(tmp_path: Path, url: str) -> None:
    text = GOOD.replace("https://files.example/example-1.2.0.tar.gz", url)
    assert only(lint(tmp_path, text), "PS202").level is Level.ERROR


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/example/archive/refs/tags/v1.2.0.tar.gz",
        "https://github.com/o/maintenance/archive/1.2.0.tar.gz",
        "https://github.com/o/example/releases/download/v1.2.0/example-1.2.0.tar.gz",
    ],
)
def test_pinned_sources_are_not(tmp_path: Path, url: str) -> None:
    text = GOOD.replace("https://files.example/example-1.2.0.tar.gz", url)
    assert lint(tmp_path, text).findings == ()


@pytest.mark.parametrize("digest", ["abc", "g" * 64, SHA + "00"])
def test_sha256_must_be_64_hex_digits(tmp_path: Path, digest: str) -> None:
    finding = only(lint(tmp_path, GOOD.replace(SHA, digest)), "PS203")
    assert (finding.key, finding.line) == ("source.sha256", 8)


def test_sha256_in_capitals_is_accepted(tmp_path: Path) -> None:
    assert lint(tmp_path, GOOD.replace(SHA, SHA.upper())).findings == ()


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("https://x.example/hdf5-1_2_0.tar.gz", True),
        ("https://x.example/FILE1-2-0.tar.gz", True),
        ("https://x.example/example-1.2.0rc1.tar.gz", True),
        ("https://x.example/example-1.2.1.tar.gz", False),
        ("https://x.example/example-11.2.0.tar.gz", False),
        ("https://x.example/example-1.2.0.1.tar.gz", False),
        ("https://github.com/o/example/archive/0123abcd.tar.gz", False),
    ],
)
def test_version_in_the_url(tmp_path: Path, url: str, named: bool) -> None:
    text = GOOD.replace("https://files.example/example-1.2.0.tar.gz", url)
    assert bool(found(lint(tmp_path, text), "PS204")) is not named


def wheel_recipe(url: str, *, name: str = "example", version: str = "1.2.0") -> str:
    return (
        GOOD.replace("https://files.example/example-1.2.0.tar.gz", url)
        .replace("name: example", f"name: {name}")
        .replace('version: "1.2.0"', f'version: "{version}"')
    )


def test_a_matching_wheel_source_has_no_findings(tmp_path: Path) -> None:
    assert lint(tmp_path, wheel_recipe(WHEEL_URL)).findings == ()
    emscripten = WHEEL_URL.replace("py3-none-any", "cp314-cp314-pyemscripten_2026_0_wasm32")
    assert lint(tmp_path, wheel_recipe(emscripten)).findings == ()


def test_wheel_source_of_another_project_or_version(tmp_path: Path) -> None:
    other = lint(tmp_path, wheel_recipe(WHEEL_URL, name="sample"), folder="sample")
    assert only(other, "PS205").key == "package.name"
    older = only(lint(tmp_path, wheel_recipe(WHEEL_URL, version="1.1.0")), "PS206")
    assert older.message == (
        "package.version is 1.1.0 but the source wheel example-1.2.0-py3-none-any.whl is 1.2.0"
    )
    same = lint(tmp_path, wheel_recipe(WHEEL_URL, version="1.2"))  # PEP 440: 1.2 == 1.2.0
    assert not found(same, "PS206")


def test_wheel_source_that_is_no_wheel_name(tmp_path: Path) -> None:
    finding = only(lint(tmp_path, wheel_recipe("https://x.example/download.whl")), "PS205")
    assert finding.key == "source.url"


def test_wheel_source_for_another_platform(tmp_path: Path) -> None:
    url = WHEEL_URL.replace("py3-none-any", "cp314-cp314-manylinux_2_17_x86_64")
    finding = only(lint(tmp_path, wheel_recipe(url)), "PS207")
    assert "manylinux_2_17_x86_64" in finding.message


def test_vendor_sharedlib_on_a_wheel(tmp_path: Path) -> None:
    text = wheel_recipe(WHEEL_URL) + "build:\n  vendor-sharedlib: false\n"
    assert only(lint(tmp_path, text), "PS208").key == "build.vendor-sharedlib"
    sdist = GOOD + "build:\n  vendor-sharedlib: false\n"
    assert not found(lint(tmp_path, sdist), "PS208")


# PS3: maintainers ------------------------------------------------------------------------------


def test_maintainers(tmp_path: Path) -> None:
    none = GOOD.replace("extra:\n  recipe-maintainers:\n    - alice\n", "")
    assert only(lint(tmp_path, none), "PS301").key == "extra.recipe-maintainers"
    placeholder = GOOD.replace("- alice", "- alice\n    - PUT_YOUR_GITHUB_USERNAME_HERE")
    finding = only(lint(tmp_path, placeholder), "PS302")
    assert (finding.key, finding.line) == ("extra.recipe-maintainers[1]", 19)
    twice = GOOD.replace("- alice", "- alice\n    - Alice")
    assert only(lint(tmp_path, twice), "PS303").key == "extra.recipe-maintainers[1]"


# PS4: imports ----------------------------------------------------------------------------------


def test_nothing_to_import(tmp_path: Path) -> None:
    text = GOOD.replace("  top-level:\n    - example\n", "")
    assert only(lint(tmp_path, text), "PS401").level is Level.HINT
    imports = text + "test:\n  imports: [example]\n"
    assert not found(lint(tmp_path, imports), "PS401")
    library = text + "build:\n  type: shared_library\n"
    assert not found(lint(tmp_path, library), "PS401")


def test_test_import_outside_top_level(tmp_path: Path) -> None:
    text = GOOD + "test:\n  imports: [example.sub, _example_ext]\n"
    finding = only(lint(tmp_path, text), "PS402")
    assert finding.key == "test.imports[1]"


# PS5 and PS6: requirements and Pyodide builds ---------------------------------------------------


def test_duplicate_requirement(tmp_path: Path) -> None:
    text = GOOD.replace("    - six\n", "    - six\n    - Six >=1\n")
    assert only(lint(tmp_path, text), "PS501").key == "requirements.run[1]"


def test_static_library_at_run_time_among_neighbours(tmp_path: Path) -> None:
    static = "package:\n  name: libfoo\n  version: 1.0.0\nbuild:\n  type: static_library\n"
    write_recipe(
        tmp_path / "libfoo", static + f"source:\n  url: {WHEEL_URL}.tgz\n  sha256: {SHA}\n"
    )
    text = GOOD.replace("    - six\n", "    - six\n    - libfoo\n")
    finding = only(lint(tmp_path, text), "PS502")
    assert (finding.key, finding.level) == ("requirements.run[1]", Level.ERROR)
    host = GOOD.replace("requirements:\n", "requirements:\n  host:\n    - libfoo\n")
    assert not found(lint(tmp_path, host), "PS502")


def test_library_version_must_be_pep440_for_a_wheel(tmp_path: Path) -> None:
    text = (
        GOOD.replace('version: "1.2.0"', "version: CLAPACK-1.2.0")
        .replace("  top-level:\n    - example\n", "")
        .replace("requirements:\n  run:\n    - six\n", "build:\n  type: static_library\n")
    )
    finding = only(lint(tmp_path, text), "PS601")
    assert finding.level is Level.HINT
    assert not found(lint(tmp_path, text.replace("CLAPACK-1.2.0", "1.2.0")), "PS601")


def test_requirement_not_on_channel_or_index_only_online(tmp_path: Path) -> None:
    from smithy.lint.online import missing_requirements
    from smithy.lint.reading import read_recipe

    text = GOOD.replace("    - six\n", "    - six\n    - Not_There >=1\n")
    assert not found(lint(tmp_path, text), "PS503")  # offline by default
    subject, _ = read_recipe(tmp_path / "example" / "meta.yaml", "meta.yaml")
    asked: list[list[str]] = []

    def known(names: object) -> set[str]:
        asked.append(list(names))  # type: ignore[call-overload]
        return {"six"}

    findings = list(missing_requirements(subject, known))
    assert asked == [["not-there", "six"]]
    assert [(f.id, f.key) for f in findings] == [("PS503", "requirements.run[1]")]
