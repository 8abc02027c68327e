"""A seekable, read-only file over HTTP ``Range`` requests: enough for :mod:`zipfile` to list a
wheel and read its ``*.dist-info`` files without downloading the whole wheel.

Reads are served from the byte ranges already fetched; a read outside them fetches at least
``min_fetch`` bytes from that offset. The first request fetches the tail of the file, where a
zip keeps its central directory (and a wheel usually its ``.dist-info``). A server that ignores
``Range`` and answers 200 gives the whole body once; every later read is served from memory.
"""

from __future__ import annotations

import io
import os
import re
from typing import TYPE_CHECKING

from smithy import http
from smithy.errors import NetworkError

if TYPE_CHECKING:
    from collections.abc import Buffer

    import requests

TAIL_BYTES = 128 * 1024
MIN_FETCH = 64 * 1024
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


class HTTPRangeFile(io.RawIOBase):
    """Read-only view of ``url``; ``size`` (when the index gave one) saves nothing but a check."""

    def __init__(
        self,
        url: str,
        *,
        what: str,
        size: int | None = None,
        tail: int = TAIL_BYTES,
        min_fetch: int = MIN_FETCH,
    ) -> None:
        super().__init__()
        self.url = url
        self._what = what
        self._min_fetch = max(1, min_fetch)
        self._chunks: list[tuple[int, bytes]] = []
        self._pos = 0
        self.requests = 0
        self.whole_body = False
        if size is not None and size > 0:
            first = max(0, size - tail)
            self._size = size
            self._fetch(first, header=f"bytes={first}-{size - 1}")
        else:
            self._size = -1
            self._fetch(None, header=f"bytes=-{tail}")

    @property
    def size(self) -> int:
        return self._size

    # io.RawIOBase interface -----------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            pos = offset
        elif whence == os.SEEK_CUR:
            pos = self._pos + offset
        elif whence == os.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._read_at(self._pos, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    # internals --------------------------------------------------------------------------------

    def _read_at(self, pos: int, n: int) -> bytes:
        end = min(pos + n, self._size)
        if end <= pos:
            return b""
        for start, data in self._chunks:
            if start <= pos and end <= start + len(data):
                return data[pos - start : end - start]
        last = min(self._size, max(end, pos + self._min_fetch)) - 1
        data = self._fetch(pos, header=f"bytes={pos}-{last}")
        return data[: end - pos]

    def _fetch(self, first: int | None, *, header: str) -> bytes:
        """Fetch a range and remember it; returns the bytes from ``first`` on."""
        headers = {"Range": header, "Accept-Encoding": "identity"}
        response = http.get(self.url, what=self._what, headers=headers)
        self.requests += 1
        if response.status_code == 200:  # Range ignored: this is the whole file
            return self._keep_whole(response, first)
        if response.status_code != 206:
            raise NetworkError(
                f"{self.url} answered HTTP {response.status_code} to a range request for "
                f"{self._what}"
            )
        start, stop, total = self._content_range(response)
        if first is not None and start != first:
            raise NetworkError(f"{self.url} sent bytes from {start}, not {first}, for {self._what}")
        data = response.content
        if len(data) != stop - start + 1:
            raise NetworkError(f"{self.url} sent a truncated range for {self._what}")
        if total is not None:
            if self._size >= 0 and total != self._size:
                raise NetworkError(
                    f"{self.url} is {total} bytes, the index said {self._size}, for {self._what}"
                )
            self._size = total
        elif self._size < 0:
            raise NetworkError(f"{self.url} did not tell its size for {self._what}")
        self._chunks.append((start, data))
        return data

    def _keep_whole(self, response: requests.Response, first: int | None) -> bytes:
        data = response.content
        if self._size >= 0 and len(data) != self._size:
            raise NetworkError(
                f"{self.url} is {len(data)} bytes, the index said {self._size}, for {self._what}"
            )
        self._size = len(data)
        self._chunks = [(0, data)]
        self.whole_body = True
        return data[first or 0 :]

    def _content_range(self, response: requests.Response) -> tuple[int, int, int | None]:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None:
            raise NetworkError(f"{self.url} sent no usable Content-Range for {self._what}")
        total = None if match[3] == "*" else int(match[3])
        return int(match[1]), int(match[2]), total
