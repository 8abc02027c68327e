"""Secrets never meet feedstock content (issue 12): the bot's rerender child holds no token, key
or git credential, the App's key leaves the bot's environment before any clone, and no clone
keeps a credential in its ``.git/config``.

The real ``bot run`` runs as a process, authenticated as a GitHub App, against the stand-in
serving git over HTTP (so pushes need the installation token, as on github.com). A probe
stands in for hostile code inside the rerender: a ``git`` first on PATH that records the
environment its parent process was started with (``/proc/PPID/environ``, the kernel's copy:
no Python hook involved), its own, its arguments and the clone's ``.git/config``, then runs
the real git. The rerender child runs git to commit, so the probe sees exactly what code in
that child would see.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from smithy.bot.isolation import SECRET_NAME, child_environment
from smithy.bot.plan import BOT_EMAIL
from tests.conftest import ROOT
from tests.integration.github_standin import GitHubStandIn
from tests.integration.test_bot_run import METADATA, ORG, STABLE_BRANCH, add_feedstock

APP_ID, INSTALLATION = 4242, 77
DECOYS = {  # what a CI machine may hold besides the bot's own credentials
    "GH_TOKEN": "ghp_decoy-gh-token",
    "ANACONDA_API_TOKEN": "decoy-anaconda-token",
    "AWS_SECRET_ACCESS_KEY": "decoy-aws-secret",
    "DEPLOY_PASSWORD": "decoy-password",
    "GIT_ASKPASS": "/decoy/askpass",
    "SSH_AUTH_SOCK": "/decoy/agent.sock",
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "http.extraheader",
    "GIT_CONFIG_VALUE_0": "X-Decoy: decoy-extra-header",
    "ACTIONS_RUNTIME_TOKEN": "decoy-actions-runtime",
}
PROBE = """#!/bin/sh
# Test probe (test_bot_secrets.py): record what this git was started with, then run git.
n="{records}/$$-$(date +%s%N)"
cat /proc/$PPID/cmdline > "$n.parent"
cat /proc/$PPID/environ > "$n.parent-env"
cat /proc/$$/environ > "$n.env"
printf '%s\\n' "$@" > "$n.args"
if [ -f .git/config ]; then cp .git/config "$n.config"; fi
exec {git} "$@"
"""


@dataclass(frozen=True)
class Record:
    parent: list[str]  # the command line of the process that ran git
    parent_env: dict[str, str]  # the environment that process was started with
    env: dict[str, str]  # git's own
    args: list[str]
    config: str | None  # .git/config of the directory git ran in

    @property
    def in_rerender_child(self) -> bool:
        return "rerender" in self.parent


def environ(data: bytes) -> dict[str, str]:
    items = (i.decode(errors="replace").partition("=") for i in data.split(b"\0") if i)
    return {k: v for k, _, v in items}


def records(folder: Path) -> list[Record]:
    out = []
    for parent in sorted(folder.glob("*.parent")):
        stem = parent.with_suffix("")
        config = stem.with_suffix(".config")
        out.append(
            Record(
                parent=[a.decode() for a in parent.read_bytes().split(b"\0") if a],
                parent_env=environ(stem.with_suffix(".parent-env").read_bytes()),
                env=environ(stem.with_suffix(".env").read_bytes()),
                args=stem.with_suffix(".args").read_text().splitlines(),
                config=config.read_text() if config.exists() else None,
            )
        )
    return out


def app_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="the probe reads /proc")
def test_the_rerender_child_holds_no_secret_and_no_clone_keeps_a_credential(
    stand: GitHubStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand.serve_git_over_http()
    repo = add_feedstock(stand, tmp_path, "alpha-pkg")
    private, public = app_key()
    stand.add_app(APP_ID, INSTALLATION, public_key_pem=public)
    monkeypatch.delenv("GITHUB_TOKEN")
    probe, seen = tmp_path / "probe", tmp_path / "seen"
    probe.mkdir()
    seen.mkdir()
    real_git = shutil.which("git")
    assert real_git is not None
    (probe / "git").write_text(PROBE.format(records=seen, git=real_git))
    (probe / "git").chmod(0o755)
    env = os.environ | DECOYS | {"PATH": f"{probe}{os.pathsep}{os.environ['PATH']}"}
    env |= {"PYODIDE_SMITHY_GITHUB_APP_ID": str(APP_ID)}
    env |= {"PYODIDE_SMITHY_GITHUB_APP_KEY": private}  # the key itself, as a CI secret holds it
    env |= {"PYODIDE_SMITHY_GITHUB_INSTALLATION_ID": str(INSTALLATION), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "smithy", "bot", "run", "--org", ORG, "--json"]
    command += ["--xbuildenv", "314.0.5", "--xbuildenv-metadata", METADATA]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert [a["action"] for a in json.loads(done.stdout)["actions"]] == ["opened"]
    assert len(stand.pulls(ORG, repo)) == 1

    with stand.lock:
        tokens = [t for t, u in stand.store.tokens.items() if u.kind == "Bot"]
    assert tokens  # the bot minted an installation token and pushed with it
    key_body = "".join(private.strip().splitlines()[1:-1])[:64]
    secrets = [*tokens, key_body, *(v for k, v in DECOYS.items() if k != "GIT_CONFIG_COUNT")]

    seen_by = records(seen)
    child = [r for r in seen_by if r.in_rerender_child]
    bot = [r for r in seen_by if "bot" in r.parent and not r.in_rerender_child]
    assert child, "the rerender child ran no git: the probe saw nothing"
    assert any(a == "commit" for r in child for a in r.args)
    assert any(a == "clone" for r in bot for a in r.args)
    for record in child:
        for env_seen in (record.parent_env, record.env):
            text = "\n".join(f"{k}={v}" for k, v in env_seen.items())
            assert not [s for s in secrets if s in text], record.args
            assert not [k for k in env_seen if SECRET_NAME.search(k) and k != "GIT_AUTHOR_NAME"]
            assert not [k for k in env_seen if k.startswith(("GIT_CONFIG_KEY", "GIT_CONFIG_VAL"))]
            assert "GIT_ASKPASS" not in env_seen
            assert "SSH_AUTH_SOCK" not in env_seen
            assert env_seen["GIT_CONFIG_GLOBAL"] == os.devnull
            assert env_seen["GIT_COMMITTER_EMAIL"] == BOT_EMAIL
        assert record.config is not None  # the clone's own configuration, as git reads it
        assert not re.search(r"extraheader|authorization|token|://[^/\s]*@", record.config, re.I)
        assert not [s for s in secrets if s in record.config]
    for record in bot:  # the key left the bot's environment before its first git
        assert "PYODIDE_SMITHY_GITHUB_APP_KEY" not in record.env, record.args
        assert key_body not in "\n".join(record.env.values())

    fetches = [r for r in stand.git_requests if r.service == "git-upload-pack"]
    pushes = [r for r in stand.git_requests if r.service == "git-receive-pack"]
    assert fetches
    assert {r.login for r in fetches} == {None}  # a public feedstock is cloned without one
    assert pushes
    assert {r.login for r in pushes} == {"pyodide-smithy[bot]"}  # the push carries the token
    branch = stand.git_root / ORG / f"{repo}.git"
    log = subprocess.run(["git", "--git-dir", str(branch), "log", "-1", "--format=%ae",
                          STABLE_BRANCH], capture_output=True, text=True, check=True)  # fmt: skip
    assert log.stdout.strip() == BOT_EMAIL


def test_the_environment_rule() -> None:
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": "/src",
        "PYODIDE_SMITHY_CACHE_DIR": "/cache",
        "PYODIDE_CROSS_BUILD_ENV_METADATA_URL": "/meta.json",
        "PYODIDE_SMITHY_GITHUB_APP_KEY": "-----BEGIN PRIVATE KEY-----",
        "PYODIDE_SMITHY_GITHUB_API_URL": "https://api.github.com",
        "PYODIDE_SMITHY_SIGNING_KEY": "k",
        "GITHUB_TOKEN": "t",
        "GITHUB_ENV": "/home/runner/work/_temp/_runner_file_commands/set_env",
        "GITHUB_ACTIONS": "true",
        "HTTPS_PROXY": "http://user:pass@proxy:3128",
        "NO_PROXY": "localhost",
        "http_proxy": "http://proxy:3128",
        "GIT_CONFIG_PARAMETERS": "'http.extraheader'='AUTHORIZATION: basic x'",
        "GIT_AUTHOR_NAME": "someone else",
        "CUSTOM_VAR": "anything",
        **DECOYS,
    }
    assert child_environment(parent) == {
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": "/src",
        "PYODIDE_SMITHY_CACHE_DIR": "/cache",
        "PYODIDE_CROSS_BUILD_ENV_METADATA_URL": "/meta.json",
        "GITHUB_ACTIONS": "true",
        "NO_PROXY": "localhost",
        "http_proxy": "http://proxy:3128",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "pyodide-smithy-bot",
        "GIT_AUTHOR_EMAIL": BOT_EMAIL,
        "GIT_COMMITTER_NAME": "pyodide-smithy-bot",
        "GIT_COMMITTER_EMAIL": BOT_EMAIL,
    }


def test_the_bot_client_forgets_the_app_key_register_github_keeps_it(
    stand: GitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smithy.github.client import APP_KEY_ENV, make_client

    private, public = app_key()
    stand.add_app(APP_ID, INSTALLATION, public_key_pem=public)
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_APP_ID", str(APP_ID))
    monkeypatch.setenv("PYODIDE_SMITHY_GITHUB_INSTALLATION_ID", str(INSTALLATION))
    monkeypatch.setenv(APP_KEY_ENV, private)
    make_client()
    assert os.environ[APP_KEY_ENV] == private
    client = make_client(forget_key=True)
    assert APP_KEY_ENV not in os.environ
    assert client.token().startswith("ghs_")  # minted from the key the client kept
