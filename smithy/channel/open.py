"""Choose the backend from the channel URL, and find the token, which is never printed."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from smithy.channel.anaconda import DEFAULT_API, DEFAULT_INDEX, AnacondaChannel
from smithy.channel.local import LocalChannel
from smithy.channel.model import Channel
from smithy.errors import UsageError

TOKEN_ENV = "ANACONDA_API_TOKEN"  # noqa: S105 - the variable's name, not a token
API_ENV = "PYODIDE_SMITHY_ANACONDA_API_URL"
INDEX_ENV = "PYODIDE_SMITHY_ANACONDA_INDEX_URL"


def open_channel(url: str, *, token: str | None = None) -> Channel:
    """The channel at ``anaconda://OWNER``, ``https://API/OWNER[?index=URL]``, ``file://DIR``, DIR.

    ``anaconda://`` talks to api.anaconda.org (``$PYODIDE_SMITHY_ANACONDA_API_URL`` overrides it,
    ``$PYODIDE_SMITHY_ANACONDA_INDEX_URL`` the index users install from).
    """
    if url.startswith("anaconda://"):
        owner = url.removeprefix("anaconda://").strip("/")
        if not owner or "/" in owner:
            raise UsageError(f"expected anaconda://OWNER, got {url!r}", key="channel")
        api = os.environ.get(API_ENV) or DEFAULT_API
        index = os.environ.get(INDEX_ENV) or DEFAULT_INDEX
        return AnacondaChannel(owner, api_url=api, index_url=index, token=token)
    if url.startswith(("http://", "https://")):
        parts = urlsplit(url)
        base, _, owner = parts.path.rstrip("/").rpartition("/")
        if not owner:
            raise UsageError(f"expected https://API_BASE/OWNER, got {url!r}", key="channel")
        api = f"{parts.scheme}://{parts.netloc}{base}"
        index = parse_qs(parts.query).get("index", [""])[0] or _index_for(parts.netloc, api)
        return AnacondaChannel(owner, api_url=api, index_url=index, token=token)
    if url.startswith("file://"):
        return LocalChannel(Path(urlsplit(url).path))
    return LocalChannel(Path(url))


def existing(channel: Channel) -> Channel:
    """``channel``, refusing a local directory that is not there (for commands that read)."""
    if isinstance(channel, LocalChannel) and not channel.root.is_dir():
        raise UsageError("channel directory not found", file=channel.root)
    return channel


def _index_for(host: str, api: str) -> str:
    if host.startswith("api."):
        return api.replace("//api.", "//pypi.", 1)
    return os.environ.get(INDEX_ENV) or api


def read_token(token_file: Path | None) -> str | None:
    """From ``--token-file``, else ``$ANACONDA_API_TOKEN``; ``None`` when neither is set."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(
                f"cannot read the token file: {exc.strerror}", file=token_file
            ) from None
        if not token:
            raise UsageError("the token file is empty", file=token_file)
        return token
    return os.environ.get(TOKEN_ENV) or None
