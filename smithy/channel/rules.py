"""What a channel takes from its users: owner, label and project names, and where a token may go.

Each check raises one line naming the option or URL at fault, before anything is sent.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from smithy.config import LABEL_PATTERN
from smithy.errors import UsageError

# An Anaconda.org user or organisation name, as a channel URL's path component: CEP 26
# ("Identifying Packages and Channels", conda/ceps cep-0026.md) requires
# ^[a-z0-9_][a-z0-9_.-]*$ and at most 128 characters, and counted 6 of anaconda.org's ~1.9M
# channel names outside it. Logins are shown with capitals (anaconda.org/SimpleITK): allowed.
OWNER_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
LOOPBACK_NAMES = frozenset({"localhost"})


def check_label(label: str, *, option: str = "--label") -> str:
    """``label``, or a UsageError naming ``option``: labels become URL and folder names."""
    if not re.fullmatch(LABEL_PATTERN, label):
        raise UsageError(
            f"{option} {label!r} is not a valid label: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return label


def check_owner(owner: str, *, url: str) -> str:
    """``owner``, or a UsageError naming the channel ``url`` it came from."""
    if not re.fullmatch(OWNER_PATTERN, owner):
        raise UsageError(
            f"{owner!r} in {url!r} is not an Anaconda.org user or organisation name: letters, "
            "digits, '.', '_' and '-', starting with a letter, digit or '_'"
        )
    return owner


def check_project(name: str, *, what: str) -> str:
    """``name`` if it is a valid project name (PEP 508), else a UsageError naming ``what``."""
    from packaging.utils import InvalidName, canonicalize_name

    try:
        canonicalize_name(name, validate=True)
    except InvalidName:
        raise UsageError(
            f"{what} {name!r} is not a valid project name: letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit"
        ) from None
    return name


def is_project_name(name: str) -> bool:
    """Whether ``name`` is a valid project name (PEP 508)."""
    try:
        check_project(name, what="name")
    except UsageError:
        return False
    return True


def package_spellings(name: str) -> list[str]:
    """The names a project's package may have on Anaconda.org, in the order to ask: its PEP 503
    form (what pyodide-smithy creates), ``name`` as given (anaconda-client creates METADATA
    ``Name`` as written) and the wheel-file form (``scipy_openblas64``). The server keeps
    spellings apart as packages (pypa/setuptools#4214, anaconda/anaconda-client#704, #640)."""
    from packaging.utils import canonicalize_name

    canonical = str(canonicalize_name(name))
    return list(dict.fromkeys((canonical, name, canonical.replace("-", "_"))))


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: addresses that never leave this machine."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_may_go_to(url: str) -> bool:
    """The token travels only over https, or plain http to this machine (the tests' servers)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))


def same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port: where a redirect may lead a request that carries the token."""
    first, second = urlsplit(a), urlsplit(b)
    try:
        ports = (first.port, second.port)
    except ValueError:
        return False
    default = {"http": 80, "https": 443}
    return (
        first.scheme == second.scheme
        and (first.hostname or "") == (second.hostname or "")
        and (ports[0] or default.get(first.scheme)) == (ports[1] or default.get(second.scheme))
    )
