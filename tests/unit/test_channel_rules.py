"""What a channel takes from its users, and where the token may go: checked before any request."""

from __future__ import annotations

import pytest

from smithy.channel.anaconda import AnacondaChannel
from smithy.channel.local import LocalChannel
from smithy.channel.open import API_ENV, open_channel
from smithy.channel.rules import (
    check_label,
    check_owner,
    check_project,
    package_spellings,
    same_origin,
    token_may_go_to,
)
from smithy.errors import UsageError

TOKEN = "tok-unit-7d1e"


@pytest.mark.parametrize("label", ["staging", "main", "rc.1", "Nightly_2026-01", "0day"])
def test_good_labels(label: str) -> None:
    assert check_label(label) == label


@pytest.mark.parametrize("label", ["", "../main", "-x", ".hidden", "a/b", "a b", "staging\n", "ü"])
def test_bad_labels_name_the_option(label: str) -> None:
    with pytest.raises(UsageError, match=r"^--label .* is not a valid label") as caught:
        check_label(label)
    assert "\n" not in str(caught.value).replace(repr(label), "")


@pytest.mark.parametrize("owner", ["pyodide", "pyodide-staging", "SimpleITK", "_internal", "a.b"])
def test_good_owners(owner: str) -> None:
    assert check_owner(owner, url=f"anaconda://{owner}") == owner


@pytest.mark.parametrize("owner", ["", "..", ".x", "-x", "a/b", "a%2Fb", "a b", "x" * 129])
def test_bad_owners(owner: str) -> None:
    with pytest.raises(UsageError, match="is not an Anaconda.org user or organisation name"):
        check_owner(owner, url=f"anaconda://{owner}")


@pytest.mark.parametrize("name", ["numpy", "Tiny_Pkg", "zope.interface", "a", "scipy-openblas64"])
def test_good_project_names(name: str) -> None:
    assert check_project(name, what="PACKAGE") == name


@pytest.mark.parametrize("name", ["", "../x", "a/b", "-a", "a-", "a b", "a%2Fb", "é"])
def test_bad_project_names_name_the_argument(name: str) -> None:
    with pytest.raises(UsageError, match=r"^PACKAGE .* is not a valid project name"):
        check_project(name, what="PACKAGE")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.anaconda.org", True),
        ("https://10.0.0.1:8443/api", True),
        ("http://127.0.0.1:8000/api", True),
        ("http://127.0.0.2/api", True),
        ("http://[::1]:8000/api", True),
        ("http://localhost:8000/api", True),
        ("http://LOCALHOST/api", True),
        ("http://api.anaconda.org", False),
        ("http://10.0.0.1/api", False),
        ("http://localhost.example.com/api", False),
        ("http://127.0.0.1.nip.io/api", False),
        ("ftp://127.0.0.1/api", False),
    ],
)
def test_token_goes_only_over_https_or_to_loopback(url: str, allowed: bool) -> None:
    assert token_may_go_to(url) is allowed


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://api.example/x", "https://api.example/y", True),
        ("https://api.example/x", "https://api.example:443/y", True),
        ("https://api.example/x", "http://api.example/y", False),
        ("https://api.example/x", "https://api.example:8443/y", False),
        ("https://api.example/x", "https://evil.example/y", False),
        ("http://127.0.0.1:5/x", "http://localhost:5/x", False),
    ],
)
def test_same_origin(a: str, b: str, same: bool) -> None:
    assert same_origin(a, b) is same


def test_open_channel_accepts_what_it_should(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_ENV, raising=False)
    default = open_channel("anaconda://pyodide", token=TOKEN)
    assert isinstance(default, AnacondaChannel)
    assert (default.owner, default.api_url) == ("pyodide", "https://api.anaconda.org")
    remote = open_channel(
        "https://api.example.org/pyodide?index=https://pypi.example.org", token=TOKEN
    )
    assert isinstance(remote, AnacondaChannel)
    assert (remote.api_url, remote.index_base) == (
        "https://api.example.org",
        "https://pypi.example.org",
    )
    loopback = open_channel("http://127.0.0.1:8000/api/pyodide", token=TOKEN)
    assert isinstance(loopback, AnacondaChannel)
    assert loopback.api_url == "http://127.0.0.1:8000/api"
    # plain http elsewhere is fine for reading without a token
    assert isinstance(open_channel("http://mirror.example/api/pyodide"), AnacondaChannel)
    assert isinstance(open_channel("some/dir"), LocalChannel)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (
            "http://api.example.org/pyodide",
            "refusing to send the Anaconda.org token over plain http",
        ),
        ("http://10.1.2.3:8080/api/pyodide", "refusing to send the Anaconda.org token"),
        ("anaconda://../x", "is not an Anaconda.org user or organisation name"),
        ("anaconda://a/b", "is not an Anaconda.org user or organisation name"),
        ("anaconda://", "is not an Anaconda.org user or organisation name"),
        ("https://api.example.org/", "expected https://API_BASE/OWNER"),
        ("https://api.example.org/a%2F..", "is not an Anaconda.org user or organisation name"),
        ("https://api.example.org/pyodide?token=x", "expected https://API_BASE/OWNER[?index="),
        ("https://api.example.org/pyodide#x", "expected https://API_BASE/OWNER[?index="),
        ("https://api.example.org/pyodide?index=ftp://x", "expected an http(s) URL with a host"),
        ("https://api.exa mple.org/pyodide", "holds spaces or control characters"),
        ("https://api.example.org\n.evil/pyodide", "holds spaces or control characters"),
        ("https://api.example.org:99999/pyodide", "invalid port"),
        ("https:///pyodide", "expected an http(s) URL with a host"),
    ],
)
def test_open_channel_refuses(url: str, words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_ENV, raising=False)
    with pytest.raises(UsageError) as caught:
        open_channel(url, token=TOKEN)
    assert words in caught.value.message
    assert "\n" not in caught.value.message.replace(repr(url), "")


def test_credentials_in_a_channel_url_are_refused_and_not_shown() -> None:
    with pytest.raises(UsageError, match="may not hold credentials") as caught:
        open_channel("https://ci:s3cret-pass@api.example.org/pyodide")
    assert "s3cret" not in str(caught.value)
    assert "***@api.example.org" in str(caught.value)


def test_an_api_override_over_plain_http_keeps_the_token_home(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(API_ENV, "http://anaconda-mirror.example/api")
    with pytest.raises(UsageError, match=rf"\${API_ENV}=http://anaconda-mirror.example/api"):
        open_channel("anaconda://pyodide", token=TOKEN)
    assert isinstance(open_channel("anaconda://pyodide"), AnacondaChannel)  # no token: a read


def test_the_backend_itself_never_sends_the_token_over_plain_http() -> None:
    """Defence in depth: even a channel made by hand refuses before any request."""
    from smithy.errors import ChannelError

    channel = AnacondaChannel(
        "pyodide", api_url="http://api.example.org", index_url="http://x", token=TOKEN
    )
    with pytest.raises(ChannelError, match="over plain http"):
        channel.files("tiny")  # the autouse fixture would fail a test that connects


def test_the_shared_session_retries_reads_only() -> None:
    from requests.adapters import HTTPAdapter

    from smithy import http

    adapter = http.session().get_adapter("https://api.anaconda.org")
    assert isinstance(adapter, HTTPAdapter)
    retry = adapter.max_retries
    for method in ("GET", "HEAD", "OPTIONS"):
        assert retry.is_retry(method, 503)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert not retry.is_retry(method, 503)
        assert not retry._is_method_retryable(method)
    assert retry.other == 0


@pytest.mark.parametrize(
    ("name", "spellings"),
    [
        ("numpy", ["numpy"]),
        ("scipy-openblas64", ["scipy-openblas64", "scipy_openblas64"]),
        ("scipy_openblas64", ["scipy-openblas64", "scipy_openblas64"]),
        ("Tiny_Pkg", ["tiny-pkg", "Tiny_Pkg", "tiny_pkg"]),
        ("zope.interface", ["zope-interface", "zope.interface", "zope_interface"]),
    ],
)
def test_package_spellings_ask_the_pep_503_name_first(name: str, spellings: list[str]) -> None:
    """Anaconda.org keeps spellings apart as packages: a project's may have any of these, and
    the one pyodide-smithy creates (PEP 503) is asked first, so it costs one request."""
    assert package_spellings(name) == spellings
