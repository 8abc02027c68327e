"""Feedstock content meets no secret: the bot re-renders each feedstock in a child process
whose environment holds no token, key or git credential (defence in depth on top of the
template sandbox).

The rule, in the order it applies (``child_environment``):

1. Only what a rerender needs passes: the names in ``PASSED`` and those starting with a prefix
   in ``PASSED_PREFIXES`` (``PYODIDE_SMITHY_*`` but not ``PYODIDE_SMITHY_GITHUB_*``: the child
   never talks to GitHub). Everything else stays behind: ``GITHUB_TOKEN``, ``GH_TOKEN``,
   ``ANACONDA_API_TOKEN``, ``GIT_ASKPASS``, ``SSH_AUTH_SOCK``, every ``GIT_CONFIG_*`` (where an
   ``http.extraheader`` rides), GitHub Actions' ``ACTIONS_*`` and ``GITHUB_ENV``/``GITHUB_OUTPUT``
   files, and whatever a future CI adds.
2. Of those, any name holding ``TOKEN``, ``SECRET``, ``KEY``, ``PASSWORD``, ``PASSWD``,
   ``CREDENTIAL``, ``AUTH`` (but not ``AUTHOR``) or ``COOKIE`` is dropped too, and so is a proxy
   URL that carries a user name or password.
3. Then git in the child reads no configuration but the clone's own (``GIT_CONFIG_GLOBAL`` is
   ``/dev/null``, ``GIT_CONFIG_NOSYSTEM``: no credential helper, extra header or hook path from
   the machine), never prompts, and commits as the bot (``BOT_NAME`` <``BOT_EMAIL``>).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smithy.bot.plan import BOT_EMAIL, BOT_NAME
from smithy.errors import SmithyError

PASSED = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM",
        "TMPDIR", "TEMP", "TMP", "NO_COLOR", "CI", "GITHUB_ACTIONS",
        "SYSTEMROOT", "COMSPEC", "PATHEXT", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH",
        "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONUTF8", "PYTHONIOENCODING",
        "PYTHONDONTWRITEBYTECODE", "XDG_CACHE_HOME",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
        "http_proxy", "https_proxy", "all_proxy", "no_proxy",
        "PYODIDE_CROSS_BUILD_ENV_METADATA_URL",
    }
)  # fmt: skip
PASSED_PREFIXES = ("LC_", "PYODIDE_SMITHY_")
KEPT_BACK_PREFIXES = ("PYODIDE_SMITHY_GITHUB_",)
SECRET_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSW(OR)?D|CREDENTIAL|COOKIE|AUTH(?!OR)", re.I)
_USERINFO = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@]*@", re.I)
TIMEOUT_SECONDS = 600  # a rerender takes a second; a hostile one is stopped


def child_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a process that reads feedstock content gets (the module's rule)."""
    source = os.environ if environ is None else environ
    env = {}
    for name, value in source.items():
        passed = name in PASSED or name.startswith(PASSED_PREFIXES)
        if not passed or name.startswith(KEPT_BACK_PREFIXES) or SECRET_NAME.search(name):
            continue
        if name.lower().endswith("_proxy") and _USERINFO.match(value.strip()):
            continue
        env[name] = value
    env |= {
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": BOT_NAME,
        "GIT_AUTHOR_EMAIL": BOT_EMAIL,
        "GIT_COMMITTER_NAME": BOT_NAME,
        "GIT_COMMITTER_EMAIL": BOT_EMAIL,
    }
    return env


@dataclass(frozen=True)
class ChildRender:
    """What the child's rerender did: its commit (None when nothing changed) and, when it moved
    ``build-number``, from what to what."""

    commit: str | None
    build_number: tuple[int, int] | None = None


def rerender_in_child(clone: Path, *, xbuildenv: str, metadata: str | None) -> ChildRender:
    """``pyodide-smithy rerender --xbuildenv XBUILDENV`` of ``clone`` in a child process with
    the module's environment, and what it did. A failure is one SmithyError naming the file as
    the repository names it."""
    cmd = [sys.executable, "-m", "smithy", "--quiet", "rerender", "--json"]
    cmd += ["--xbuildenv", xbuildenv, *(["--xbuildenv-metadata", metadata] if metadata else [])]
    try:
        done = subprocess.run(
            [*cmd, str(clone)],
            cwd=clone,
            env=child_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SmithyError(f"rerender took longer than {TIMEOUT_SECONDS} s: stopped") from None
    if done.returncode != 0:
        raise SmithyError(_reason(done.stderr, done.returncode, clone))
    try:
        report = json.loads(done.stdout)
        commit = report.get("commit")
    except (ValueError, AttributeError):
        raise SmithyError("rerender printed no JSON report") from None
    return ChildRender(str(commit) if commit else None, _build_number(report.get("build_number")))


def _build_number(moved: Any) -> tuple[int, int] | None:
    """``{"from": 0, "to": 1}`` as (0, 1); None when absent or not two whole numbers."""
    if not isinstance(moved, dict):
        return None
    before, after = moved.get("from"), moved.get("to")
    if type(before) is not int or type(after) is not int:
        return None
    return before, after


def _reason(stderr: str, code: int, clone: Path) -> str:
    """The child's ``error: …`` line, with paths inside the clone as the repository names them."""
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    if not errors:
        last = (stderr.strip().splitlines() or [f"exit code {code}"])[-1]
        return f"rerender failed: {last}"
    reason = errors[-1].removeprefix("error: ")
    for root in dict.fromkeys((str(clone), str(clone.resolve()))):
        reason = reason.replace(root + os.sep, "")
    return reason
