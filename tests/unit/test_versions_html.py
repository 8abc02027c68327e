"""PEP 503 HTML project pages read into the same files as PEP 691 JSON ones."""

from __future__ import annotations

from smithy.recipe.pypi_index import parse_files
from smithy.versions.html_page import html_files

PAGE = "https://mirror.example/simple/proj/"
SHA = "ab" * 32


def test_anchors_with_pep_592_and_658_attributes() -> None:
    text = f"""<!DOCTYPE html><html><body>
    <a href="../../f/proj-1.0.tar.gz#sha256={SHA}" data-requires-python="&gt;=3.9">proj-1.0.tar.gz</a>
    <a href="https://cdn.example/proj-1.1-py3-none-any.whl#sha256={SHA}"
       data-dist-info-metadata="sha256={"cd" * 32}">proj-1.1-py3-none-any.whl</a><br/>
    <a href="../../f/proj-1.2.tar.gz#sha256={SHA}" data-yanked>proj-1.2.tar.gz</a>
    <a href="../../f/proj-1.3.tar.gz#sha256={SHA}" data-yanked="bad" data-core-metadata="true"
       >proj-1.3.tar.gz</a>
    <a href="../../f/proj-1.4.tar.gz">proj-1.4.tar.gz</a>
    </body></html>"""
    files = parse_files(html_files(text, PAGE), PAGE)
    # the file without a hash is no candidate for a recipe, as in JSON
    assert [f.filename for f in files] == [
        "proj-1.0.tar.gz",
        "proj-1.1-py3-none-any.whl",
        "proj-1.2.tar.gz",
        "proj-1.3.tar.gz",
    ]
    first, second, third, fourth = files
    assert first.url == "https://mirror.example/f/proj-1.0.tar.gz"
    assert first.requires_python == ">=3.9"
    assert (second.metadata, second.metadata_sha256) == (True, "cd" * 32)
    assert second.url == "https://cdn.example/proj-1.1-py3-none-any.whl"
    assert (third.yanked, third.metadata) == (True, False)
    assert (fourth.yanked, fourth.metadata, fourth.metadata_sha256) == (True, True, None)


def test_a_base_element_moves_relative_links() -> None:
    text = f'<base href="https://files.example/pkgs/"><a href="proj-1.0.tar.gz#sha256={SHA}">proj-1.0.tar.gz</a>'
    (entry,) = html_files(text, PAGE)
    assert entry["url"] == "https://files.example/pkgs/proj-1.0.tar.gz"


def test_an_anchor_left_open_still_counts_and_one_without_href_does_not() -> None:
    text = f'<a name="top">top</a><a href="x-1.0.tar.gz#sha256={SHA}">x-1.0.tar.gz'
    (entry,) = html_files(text, PAGE)
    assert entry["filename"] == "x-1.0.tar.gz"
