"""A PEP 503 HTML project page read into PEP 691 ``files`` entries, for indexes without JSON.

The simple API's HTML form: one anchor per file, its text the file name, its ``href`` the URL
with ``#sha256=…``, and ``data-requires-python``, ``data-yanked`` (PEP 592) and
``data-core-metadata`` / ``data-dist-info-metadata`` (PEP 658/714, ``true`` or
``sha256=…``) as attributes. The standard library's parser is enough: only anchors count.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin


def html_files(text: str, page_url: str) -> list[dict[str, Any]]:
    """The page's anchors as PEP 691 ``files`` entries (URLs made absolute, ``base`` honoured)."""
    parser = _Anchors()
    parser.feed(text)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    entries = []
    for attrs, filename in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, fragment = urldefrag(urljoin(base, href))
        name, _, digest = fragment.partition("=")
        entry: dict[str, Any] = {
            "filename": filename.strip(),
            "url": url,
            "hashes": {name.lower(): digest} if digest else {},
        }
        if (requires := attrs.get("data-requires-python")) is not None:
            entry["requires-python"] = requires
        if "data-yanked" in attrs:
            entry["yanked"] = attrs["data-yanked"] or True
        metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        if metadata is not None:
            entry["core-metadata"] = _metadata(metadata)
        entries.append(entry)
    return entries


def _metadata(value: str) -> bool | dict[str, str]:
    name, _, digest = value.partition("=")
    if digest:
        return {name.lower(): digest}
    return value.strip().lower() != "false"


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str], str]] = []
        self.base: str | None = None
        self._open: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        elif tag == "a":
            self._close()
            self._open, self._text = values, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close()

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._close()

    def _close(self) -> None:
        if self._open is not None:
            self.anchors.append((self._open, "".join(self._text)))
        self._open = None
