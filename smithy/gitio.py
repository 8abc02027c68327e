"""The git adapter: local work trees through the git CLI, remote clones through GitPython."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smithy.errors import GitError

# Fail fast instead of prompting for credentials or hanging on a dead connection.
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_HTTP_LOW_SPEED_LIMIT": "1000",
    "GIT_HTTP_LOW_SPEED_TIME": "30",
    "GIT_ASKPASS": "echo",
}
DEFAULT_BRANCH = "main"


@contextmanager
def _errors(what: str, where: Path | str) -> Iterator[None]:
    import git

    try:
        yield
    except git.GitCommandError as exc:
        raise GitError(
            f"git failed to {what}: {_reason(exc.stderr or exc.stdout, exc.status)}", file=where
        ) from exc


def _reason(output: Any, status: Any) -> str:
    """The last meaningful line git printed (GitPython wraps it in ``stderr: '...'``)."""
    text = str(output or "").strip().removeprefix("stderr:").strip()
    text = text.removeprefix("'").removesuffix("'").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1].removeprefix("fatal: ") if lines else f"exit code {status}"


@dataclass(frozen=True)
class LocalRepo:
    """A work tree on this machine. Local operations run ``git`` itself: one short process
    each, where importing GitPython alone would cost more than ``init``'s whole budget."""

    root: Path

    def git(self, *args: str, what: str, env: dict[str, str] | None = None) -> str:
        try:
            proc = subprocess.run(
                ["git", "-C", str(self.root), *args],
                capture_output=True,
                text=True,
                env={**os.environ, **(env or {})},
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed (or not on PATH)", file=self.root) from None
        if proc.returncode != 0:
            reason = _reason(proc.stderr or proc.stdout, proc.returncode)
            raise GitError(f"git failed to {what}: {reason}", file=self.root)
        return proc.stdout


def open_repo(path: Path) -> LocalRepo | None:
    """The repository whose work tree is ``path`` exactly, or ``None`` if it is not one."""
    return LocalRepo(path) if (path / ".git").exists() else None


def init_and_commit(path: Path, message: str) -> str:
    """``git init`` (branch ``main``), add everything, commit; returns the commit sha."""
    repo = LocalRepo(path)
    what = "create the feedstock repository"
    repo.git("init", "--quiet", f"--initial-branch={DEFAULT_BRANCH}", what=what)
    repo.git("add", "--all", what=what)
    return _commit(repo, message, what=what)


def dirty_paths(repo: LocalRepo, paths: Iterable[str]) -> list[str]:
    """Those of ``paths`` with uncommitted changes (staged, unstaged or untracked)."""
    wanted = sorted(set(paths))
    if not wanted:
        return []
    out = repo.git(
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--",
        *wanted,
        what="read the status",
    )
    return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})


def commit_paths(repo: LocalRepo, paths: Iterable[str], message: str) -> str | None:
    """Stage ``paths`` (written or deleted) and commit only them; ``None`` when that leaves
    them as the last commit has them (a forced rerender that undid uncommitted edits)."""
    wanted = sorted(set(paths))
    repo.git("add", "--all", "--", *wanted, what="stage the rerender")
    staged = repo.git("diff", "--cached", "--name-only", "--", *wanted, what="stage the rerender")
    if not staged.strip():
        return None
    return _commit(repo, message, "--", *wanted, what="commit the rerender")


def _commit(repo: LocalRepo, message: str, *paths: str, what: str) -> str:
    repo.git(
        "commit", "--quiet", "--no-verify", "-m", message, *paths, what=what, env=_identity(repo)
    )
    return repo.git("rev-parse", "HEAD", what=what).strip()


def _identity(repo: LocalRepo) -> dict[str, str]:
    """A committer identity when git has none configured (fresh CI machines, containers)."""
    try:
        known = repo.git("config", "--get-regexp", r"^user\.(name|email)$", what="read the config")
    except GitError:  # exit 1: neither is set
        known = ""
    env: dict[str, str] = {}
    if "user.name" not in known and not os.environ.get("GIT_AUTHOR_NAME"):
        env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "pyodide-smithy"
    if "user.email" not in known and not os.environ.get("GIT_AUTHOR_EMAIL"):
        email = "pyodide-smithy@users.noreply.github.com"
        env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = email
    return env


def clone_or_fetch(url: str, dest: Path) -> Path:
    """A shallow clone of ``url`` in ``dest``, fetched and reset if it is already there."""
    import git

    if (dest / ".git").exists():
        with _errors(f"fetch {url}", dest):
            repo = git.Repo(dest)
            with repo.git.custom_environment(**_GIT_ENV):
                repo.git.fetch("--depth=1", "--quiet", "origin", "HEAD")
                repo.git.reset("--hard", "--quiet", "FETCH_HEAD")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    if partial.exists():
        import shutil

        shutil.rmtree(partial)
    with _errors(f"clone {url}", url):
        git.Repo.clone_from(url, partial, depth=1, env=_GIT_ENV, multi_options=["--quiet"])
    partial.rename(dest)
    return dest
