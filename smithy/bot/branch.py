"""The migration branch on the remote: a clone to re-render, and a push that never lands over a
commit the bot did not make.

Credentials: a public repository is cloned and read without any; the installation token rides
only in the environment of the git commands that need it (``http.extraheader`` through
``GIT_CONFIG_*``, as register-github does), so no ``.git/config`` ever holds it.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from smithy.bot.plan import made_by_bot
from smithy.errors import GitError
from smithy.github.client import GitHubError
from smithy.gitio import LocalRepo

FETCHED = "refs/pyodide-smithy/bot-branch"
Outcome = Literal["pushed", "unchanged", "refused"]


@dataclass(frozen=True)
class Remote:
    """A feedstock's repository and the migration's branch on it."""

    url: str
    branch: str
    read_env: dict[str, str] = field(default_factory=dict)  # empty for a public repository
    push_env: dict[str, str] = field(default_factory=dict)  # the one-off credential

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"


@dataclass(frozen=True)
class Guard:
    """Which tip of the branch the bot may push over.

    ``head``: the pull request's head as the survey read it, when all its commits are the bot's
    (or merged); ``leftover``: also no branch at all, or a tip commit the bot made (a run that
    stopped before opening its pull request).
    """

    head: str = ""
    leftover: bool = False


def clone(remote: Remote, dest: Path, *, branch: str | None = None) -> LocalRepo:
    """A shallow clone of the default branch (or ``branch``) holding no credential."""
    which = ["--branch", branch] if branch else []
    _git(dest.parent, "clone", "--quiet", "--depth", "1", *which, remote.url, str(dest),
         env=remote.read_env)  # fmt: skip
    return LocalRepo(dest)


def push(local: LocalRepo, remote: Remote, guard: Guard, *, what: str) -> Outcome:
    """Push HEAD to the branch unless its tip already holds HEAD's tree ("unchanged") or is a
    commit ``guard`` does not allow replacing ("refused"). The push carries the tip it saw as
    a lease, so a commit pushed meanwhile is never overwritten; a lost race is looked at again.
    """
    tree = local.git("rev-parse", "HEAD^{tree}", what="read the tree").strip()
    for attempt in range(3):
        tip = _fetch_tip(local, remote)
        if tip is not None and _tree(local, tip) == tree:
            return "unchanged"
        if not _may_replace(local, tip, guard):
            return "refused"
        lease = f"--force-with-lease={remote.ref}:{tip or ''}"
        try:
            local.git("push", "--quiet", lease, remote.url, f"HEAD:{remote.ref}", what=what,
                      env=remote.push_env)  # fmt: skip
        except GitError:
            if attempt == 2:
                raise
            time.sleep(0.5 * (attempt + 1))
        else:
            return "pushed"
    return "refused"


def check_out_theirs(local: LocalRepo, remote: Remote) -> str | None:
    """When the branch exists with a tip the bot did not make (a maintainer pushed or recreated
    it): that tip, checked out, so that a render goes on top of it; else None."""
    tip = _fetch_tip(local, remote)
    if tip is None or _made_by_bot(local, tip):
        return None
    local.git("checkout", "-q", "-B", remote.branch, tip, what=f"check out {remote.branch}")
    return tip


def exists(local: LocalRepo, remote: Remote) -> bool:
    heads = local.git("ls-remote", remote.url, remote.ref, what="list the remote",
                      env=remote.read_env)  # fmt: skip
    return bool(heads.strip())


def _may_replace(local: LocalRepo, tip: str | None, guard: Guard) -> bool:
    if tip is None:
        return guard.leftover or not guard.head
    if guard.head and tip == guard.head:
        return True
    if not guard.leftover:
        return False
    return _made_by_bot(local, tip)


def _made_by_bot(local: LocalRepo, commit: str) -> bool:
    emails = local.git("log", "-1", "--format=%ae%n%ce", commit, what="read the branch's tip")
    author, _, committer = emails.strip().partition("\n")
    return made_by_bot(author, committer)


def _fetch_tip(local: LocalRepo, remote: Remote) -> str | None:
    """The branch's tip commit on the remote (fetched), or None when there is no such branch."""
    if not exists(local, remote):
        return None
    try:
        local.git("fetch", "--quiet", "--no-tags", "--depth", "1", remote.url,
                  f"+{remote.ref}:{FETCHED}", what=f"fetch {remote.branch}",
                  env=remote.read_env)  # fmt: skip
    except GitError:
        if exists(local, remote):
            raise
        return None  # deleted between the two looks
    return local.git("rev-parse", FETCHED, what="read the branch's tip").strip()


def _tree(local: LocalRepo, commit: str) -> str:
    return local.git("rev-parse", f"{commit}^{{tree}}", what="read the tree").strip()


def _git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    """git outside a repository (the clone); GitHubError with git's last line on failure."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=os.environ | {"GIT_TERMINAL_PROMPT": "0"} | env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        message = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise GitHubError(f"git {args[0]} failed: {message}")
    return done.stdout
