"""pyodide-smithy's own workflows: CI on pull requests, release to PyPI on a version tag."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smithy import __version__
from tests.conftest import ROOT
from tests.integration.workflow_lint import assert_actionlint_clean, assert_zizmor_clean

WORKFLOWS = ROOT / ".github" / "workflows"
PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$")


def load(name: str) -> dict[Any, Any]:
    from ruamel.yaml import YAML

    flow: dict[Any, Any] = YAML(typ="safe").load((WORKFLOWS / name).read_text())
    return flow


def triggers(flow: dict[Any, Any]) -> dict[Any, Any]:
    on: dict[Any, Any] = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads `on` as true
    return on


def steps(flow: dict[Any, Any]) -> list[dict[Any, Any]]:
    return [step for job in flow["jobs"].values() for step in job["steps"]]


def write_permissions(permissions: dict[str, str]) -> set[str]:
    return {scope for scope, level in permissions.items() if level == "write"}


def names() -> list[str]:
    return sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_ci_and_release_workflows_exist() -> None:
    assert {"ci.yml", "release.yml"} <= set(names())


def test_actionlint_with_shellcheck() -> None:
    assert_actionlint_clean(sorted(WORKFLOWS.glob("*.yml")))


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor(tmp_path: Path, persona: str) -> None:
    shutil.copytree(WORKFLOWS, tmp_path / ".github" / "workflows")  # nothing else to wander into
    assert_zizmor_clean(tmp_path, persona=persona)


def test_ci_runs_the_readme_command_with_no_write_permission() -> None:
    flow = load("ci.yml")
    assert set(triggers(flow)) == {"pull_request", "push"}
    assert triggers(flow)["push"] == {"branches": ["main"]}
    assert flow["permissions"] == {}
    assert flow["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    for name, job in flow["jobs"].items():
        assert write_permissions(job["permissions"]) == set(), name
        assert job["timeout-minutes"] <= 60
    runs = [step["run"] for step in steps(flow) if "run" in step]
    assert runs == ["bash scripts/check"]


def test_only_the_publish_job_may_mint_an_oidc_token() -> None:
    release = load("release.yml")
    assert release["permissions"] == {}
    holders = {
        (name, scope)
        for flow in map(load, names())
        for name, job in flow["jobs"].items()
        for scope in write_permissions(job.get("permissions", {}))
    }
    assert holders == {("publish", "id-token"), ("publish", "attestations")}
    assert release["jobs"]["publish"]["permissions"] == {
        "id-token": "write",
        "attestations": "write",
    }
    assert release["jobs"]["build"]["permissions"] == {"contents": "read"}
    assert "secrets." not in (WORKFLOWS / "release.yml").read_text()


def test_publish_needs_build_and_runs_only_for_version_tags() -> None:
    flow = load("release.yml")
    assert triggers(flow) == {"push": {"tags": ["v*"]}}
    assert flow["concurrency"]["cancel-in-progress"] is False
    publish = flow["jobs"]["publish"]
    assert publish["needs"] in ("build", ["build"])
    assert "github.event_name == 'push'" in publish["if"]
    assert "startsWith(github.ref, 'refs/tags/v')" in publish["if"]
    assert publish["environment"] == {"name": "pypi", "url": "https://pypi.org/p/pyodide-smithy"}
    (upload,) = (s for s in publish["steps"] if "gh-action-pypi-publish" in s.get("uses", ""))
    assert set(upload.get("with", {})) <= {"packages-dir", "attestations"}  # no password: OIDC
    (attest,) = (s for s in publish["steps"] if "attest-build-provenance" in s.get("uses", ""))
    assert attest["with"] == {"subject-path": "dist/*"}  # the sdist and the wheel PyPI gets
    assert publish["steps"].index(attest) < publish["steps"].index(upload)
    build_runs = "\n".join(s.get("run", "") for s in flow["jobs"]["build"]["steps"])
    assert "python -m build" in build_runs
    assert "twine check --strict dist/*" in build_runs


def test_the_tag_must_equal_the_package_version() -> None:
    """The build job's own check script, run here on this checkout with a good and a bad tag."""
    (check,) = (
        s for s in load("release.yml")["jobs"]["build"]["steps"] if "TAG" in s.get("env", {})
    )
    assert check["env"] == {"TAG": "${{ github.ref_name }}"}
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    for tag, ok in (
        (f"v{__version__}", True),
        (f"v{__version__}.post1", False),
        (__version__, False),
    ):
        proc = subprocess.run(
            ["bash", "-e", "-c", check["run"]],
            cwd=ROOT,
            env={**env, "TAG": tag},
            capture_output=True,
            text=True,
            check=False,
        )
        assert (proc.returncode == 0) is ok, (tag, proc.stdout, proc.stderr)
        if not ok:
            assert f"does not match __version__ {__version__}" in proc.stdout


def test_every_action_is_pinned_by_commit_with_its_tag() -> None:
    for name in names():
        uses = [step["uses"] for step in steps(load(name)) if "uses" in step]
        assert uses, name
        for ref in uses:
            assert PINNED.match(ref), f"{name}: {ref} is not pinned to a full commit SHA"
        lines = [line for line in (WORKFLOWS / name).read_text().splitlines() if "uses:" in line]
        assert len(lines) == len(uses)
        for line in lines:
            assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


def test_no_expression_inside_a_run_script() -> None:
    for name in names():
        for step in steps(load(name)):
            assert "${{" not in step.get("run", ""), f"{name}: {step}"
