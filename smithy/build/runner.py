"""The one way a build runs a program: show the command first (like cibuildwheel), then run it.

The child's output goes to stderr, so that ``--json`` on stdout stays clean; under ``--quiet``
it is captured and shown only when the command fails.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from smithy import console
from smithy.build.model import BuildError


def show(
    cmd: Sequence[str | Path], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> str:
    """The line printed before a command: the variables we set, the command, where it runs."""
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted((env or {}).items()))
    line = shlex.join(str(c) for c in cmd)
    where = f"  (in {cwd})" if cwd is not None else ""
    return f"+ {prefix + ' ' if prefix else ''}{line}{where}"


def run(
    cmd: Sequence[str | Path],
    *,
    what: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    file: str | Path | None = None,
    key: str | None = None,
    inherit: bool = True,
) -> None:
    """Run ``cmd``; a failure is a one-line :class:`BuildError`.

    ``env`` is added to our environment, or with ``inherit=False`` is the whole environment.
    """
    full = {**os.environ, **(env or {})} if inherit else dict(env or {})
    shown = {k: v for k, v in full.items() if os.environ.get(k) != v}
    console.info(show(cmd, cwd=cwd, env=shown))
    quiet = console.is_quiet()
    try:
        result = subprocess.run(
            [str(c) for c in cmd],
            cwd=cwd,
            env=full,
            stdout=subprocess.PIPE if quiet else _stderr_fd(),
            stderr=subprocess.STDOUT if quiet else None,
            check=False,
        )
    except FileNotFoundError:
        raise BuildError(f"{what}: {cmd[0]} is not installed", file=file, key=key) from None
    except OSError as exc:
        raise BuildError(f"{what}: cannot run {cmd[0]}: {exc}", file=file, key=key) from exc
    if result.returncode != 0:
        if quiet and result.stdout:
            sys.stderr.write(result.stdout.decode("utf-8", "replace")[-20_000:])
        raise BuildError(
            f"{what} failed (exit {result.returncode}): {shlex.join(str(c) for c in cmd)}",
            file=file,
            key=key,
        )


def _stderr_fd() -> int:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a replaced sys.stderr (tests, notebooks)
        return 2


class BashSession:
    """Scripts run one after another with ``bash -ce``, each seeing what the previous exported.

    The same contract as pyodide-build's ``BashRunnerWithSharedEnvironment``: after a script
    succeeds its environment is read back (here through ``env -0`` into a file) and becomes the
    next script's; a script that leaves with ``exit 0`` keeps the environment it started with.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env: dict[str, str] = dict(env)

    def run(self, script: str | None, *, what: str, cwd: Path, file: Path, key: str) -> None:
        if not script:
            return
        with tempfile.TemporaryDirectory(prefix="pyodide-smithy-env-") as tmp:
            dump = Path(tmp) / "env"
            full = f"{script}\nenv -0 > {shlex.quote(str(dump))}"
            console.info(f"running {what} in {cwd}")
            run(
                ["bash", "-ce", full],
                what=what,
                cwd=cwd,
                env=self.env,
                inherit=False,
                file=file,
                key=key,
            )
            if dump.is_file():
                self.env = _parse_env(dump.read_bytes())


def _parse_env(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in data.decode("utf-8", "surrogateescape").split("\0"):
        name, sep, value = item.partition("=")
        if sep and name:
            out[name] = value
    return out


def capture(cmd: Sequence[str | Path], *, what: str) -> str:
    """Run ``cmd`` (shown first) and return what it printed on stdout and stderr."""
    console.info(show(cmd))
    try:
        result = subprocess.run(
            [str(c) for c in cmd], capture_output=True, text=True, check=False, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"{what}: cannot run {cmd[0]}: {exc}") from exc
    return result.stdout + result.stderr
