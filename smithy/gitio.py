"""The git adapter (GitPython): init, commit, status of paths, clone-or-fetch of a cache."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
        detail = (exc.stderr or exc.stdout or str(exc)).strip().splitlines()
        reason = detail[-1].strip().removeprefix("stderr: ").strip("'") if detail else str(exc)
        raise GitError(f"git failed to {what}: {reason}", file=where) from exc
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise GitError(f"not a git repository, cannot {what}", file=where) from exc


def open_repo(path: Path) -> Any | None:
    """The repository whose work tree is ``path`` exactly, or ``None`` if it is not one."""
    if not (path / ".git").exists():
        return None
    import git

    with _errors("open the repository", path):
        return git.Repo(path)


def init_and_commit(path: Path, message: str) -> str:
    """``git init`` (branch ``main``), add everything, commit; returns the commit sha."""
    import git

    with _errors("create the feedstock repository", path):
        repo = git.Repo.init(path, initial_branch=DEFAULT_BRANCH)
        repo.git.add("--all")
        _commit(repo, message)
        return str(repo.head.commit.hexsha)


def dirty_paths(repo: Any, paths: Iterable[str]) -> list[str]:
    """Those of ``paths`` with uncommitted changes (staged, unstaged or untracked)."""
    wanted = sorted(set(paths))
    if not wanted:
        return []
    with _errors("read the status", repo.working_tree_dir):
        out = repo.git.status("--porcelain=v1", "-z", "--untracked-files=all", "--", *wanted)
    dirty = []
    for entry in out.split("\0"):
        if len(entry) > 3:
            dirty.append(entry[3:])
    return sorted(set(dirty))


def commit_paths(repo: Any, paths: Iterable[str], message: str) -> str:
    """Stage ``paths`` (written or deleted) and commit only them."""
    wanted = sorted(set(paths))
    with _errors("commit the rerender", repo.working_tree_dir):
        repo.git.add("--all", "--", *wanted)
        _commit(repo, message, *wanted)
        return str(repo.head.commit.hexsha)


def _commit(repo: Any, message: str, *paths: str) -> None:
    env = _identity_env(repo)
    args = ["--quiet", "--no-verify", "-m", message]
    if paths:
        args += ["--", *paths]
    with repo.git.custom_environment(**env):
        repo.git.commit(*args)


def _identity_env(repo: Any) -> dict[str, str]:
    """A committer identity when git has none configured (fresh CI machines, containers)."""
    reader = repo.config_reader()
    env: dict[str, str] = {}
    if not (os.environ.get("GIT_AUTHOR_NAME") or reader.has_option("user", "name")):
        env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "pyodide-smithy"
    if not (os.environ.get("GIT_AUTHOR_EMAIL") or reader.has_option("user", "email")):
        env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = (
            "pyodide-smithy@users.noreply.github.com"
        )
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
