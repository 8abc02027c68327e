"""Choose the backend from the channel URL, and find the token, which is never printed."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from smithy.channel.anaconda import DEFAULT_API, DEFAULT_INDEX, AnacondaChannel
from smithy.channel.local import LocalChannel
from smithy.channel.model import Channel
from smithy.channel.rules import check_owner, token_may_go_to
from smithy.errors import UsageError

TOKEN_ENV = "ANACONDA_API_TOKEN"  # noqa: S105 - the variable's name, not a token
API_ENV = "PYODIDE_SMITHY_ANACONDA_API_URL"
INDEX_ENV = "PYODIDE_SMITHY_ANACONDA_INDEX_URL"


def open_channel(url: str, *, token: str | None = None) -> Channel:
    """The channel at ``anaconda://OWNER``, ``https://API/OWNER[?index=URL]``, ``file://DIR``, DIR.

    ``anaconda://`` talks to api.anaconda.org (``$PYODIDE_SMITHY_ANACONDA_API_URL`` overrides it,
    ``$PYODIDE_SMITHY_ANACONDA_INDEX_URL`` the index users install from). A URL is checked
    before anything is sent: an owner name Anaconda.org could hold, no credentials in it, and a
    token only for https (or http to a loopback address, as the tests use).
    """
    if url.startswith("anaconda://"):
        _plain(url, "channel")
        owner = check_owner(url.removeprefix("anaconda://").removesuffix("/"), url=url)
        api = os.environ.get(API_ENV) or DEFAULT_API
        index = os.environ.get(INDEX_ENV) or DEFAULT_INDEX
        _web_base(api, f"${API_ENV}")
        _web_base(index, f"${INDEX_ENV}")
        _token_over_https(api, token, f"{url} (${API_ENV}={api})")
        return AnacondaChannel(owner, api_url=api, index_url=index, token=token)
    if url.startswith(("http://", "https://")):
        return _remote(url, token)
    if url.startswith("file://"):
        return LocalChannel(Path(urlsplit(url).path))
    return LocalChannel(Path(url))


def _remote(url: str, token: str | None) -> AnacondaChannel:
    """An Anaconda.org-compatible server named by ``https://API_BASE/OWNER[?index=INDEX]``."""
    shown = _web_base(url, "channel")
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    if parts.fragment or set(query) - {"index"} or len(query.get("index", [])) > 1:
        raise UsageError(f"channel {shown!r}: expected https://API_BASE/OWNER[?index=INDEX_BASE]")
    base, _, owner = parts.path.rstrip("/").rpartition("/")
    if not owner:
        raise UsageError(f"channel {shown!r}: expected https://API_BASE/OWNER")
    check_owner(owner, url=shown)
    api = f"{parts.scheme}://{parts.netloc}{base}"
    index = query.get("index", [""])[0] or _index_for(parts.netloc, api)
    _web_base(index, "index")
    _token_over_https(api, token, shown)
    return AnacondaChannel(owner, api_url=api, index_url=index, token=token)


def _plain(url: str, what: str) -> None:
    """No spaces or control characters: urlsplit would silently drop some of them."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UsageError(f"{what} {_redacted(url)!r} holds spaces or control characters")


def _redacted(url: str) -> str:
    """``url`` without the password (or token) someone put before its host."""
    return re.sub(r"(?<=//)[^/?#]*@", "***@", url, count=1)


def _web_base(url: str, what: str) -> str:
    """Check an http(s) URL with a host and no credentials; the URL as it may be printed."""
    shown = _redacted(url)
    _plain(url, what)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{what} {shown!r}: expected an http(s) URL with a host")
    if "@" in parts.netloc:
        raise UsageError(f"{what} {shown!r}: a URL may not hold credentials; use the token")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise UsageError(f"{what} {shown!r}: invalid port") from None
    return shown


def _token_over_https(api: str, token: str | None, where: str) -> None:
    if token and not token_may_go_to(api):
        raise UsageError(
            f"channel {where}: refusing to send the Anaconda.org token over plain http; use "
            "https (http is allowed only to loopback addresses)"
        )


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
