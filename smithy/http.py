"""The one HTTP adapter: a requests session with retries, backoff and a timeout on every call."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from smithy import __version__
from smithy.errors import NetworkError

if TYPE_CHECKING:
    import requests

TIMEOUT = (5.0, 60.0)  # (connect, read) seconds
USER_AGENT = f"pyodide-smithy/{__version__}"
MAX_WAIT = 60.0  # the longest Retry-After honoured as asked; a longer one is cut to this
BACKOFF = 0.5


# Requests that only read: safe to send again when an answer is lost or is a 5xx. Anything
# else may have changed the server before its answer was lost; the caller decides what to do
# after looking again (smithy.channel.upload does), so nothing here sends it a second time.
IDEMPOTENT_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@cache
def _retry_class() -> Any:
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):
        """urllib3's Retry, waiting at most ``MAX_WAIT`` for a Retry-After."""

        def get_retry_after(self, response: Any) -> float | None:
            after = super().get_retry_after(response)
            return None if after is None else min(after, MAX_WAIT)

    return CappedRetry


@cache
def session(retries: int = 3) -> requests.Session:
    """A shared session that retries reads on 5xx, 429, dropped connections and timeouts, with
    backoff, waiting as long as a ``Retry-After`` asks (up to ``MAX_WAIT``).

    A request that could not connect is retried whatever its method: nothing was sent.
    """
    import requests
    from requests.adapters import HTTPAdapter

    retry = _retry_class()(
        total=int(os.environ.get("PYODIDE_SMITHY_HTTP_RETRIES", retries)),
        connect=min(retries, 2),
        # Any other failure (an SSL error while reading the answer) may come after the server
        # acted: never resend it blindly, whatever the method.
        other=0,
        backoff_factor=BACKOFF,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=IDEMPOTENT_READS,
        raise_on_status=False,
    )
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = USER_AGENT
    return s


def get(url: str, *, what: str, retries: int = 3, **kwargs: Any) -> requests.Response:
    """GET ``url``; any failure becomes a :class:`NetworkError` that says ``what`` was wanted.

    ``retries=0`` for a fetch with a fallback, where waiting out backoffs helps nobody.
    """
    import requests

    kwargs.setdefault("timeout", TIMEOUT)
    try:
        response = session(retries).get(url, **kwargs)
    except requests.RequestException as exc:
        raise NetworkError(f"cannot reach {url} for {what}: {reason(exc)}") from exc
    if response.status_code >= 400:
        raise NetworkError(
            f"{url} answered HTTP {response.status_code} for {what}", key=str(response.status_code)
        )
    return response


def retry_after(response: requests.Response, attempt: int) -> float:
    """Seconds to wait before sending again what a 429 refused: its ``Retry-After`` (seconds or
    an HTTP date, at most ``MAX_WAIT``), else the session's backoff for this ``attempt``."""
    from urllib3.exceptions import InvalidHeader

    header = response.headers.get("Retry-After")
    if header:
        try:
            return min(float(_retry_class()().parse_retry_after(header)), MAX_WAIT)
        except InvalidHeader:
            pass
    return float(min(BACKOFF * 2 ** (attempt - 1), MAX_WAIT))


def reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, without the noise urllib3 wraps around it."""
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
