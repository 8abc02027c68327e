"""Where generated CI gets pyodide-smithy: only a release or a git URL at a commit gets through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smithy import __version__
from smithy.config import parse_config
from smithy.errors import ConfigError
from smithy.self_install import (
    SmithyInstall,
    _from_direct_url,
    effective_install,
    parse_install,
    running_install,
)

SHA = "0123456789abcdef0123456789abcdef01234567"
GIT = f"git+https://github.com/my-org/pyodide-smithy@{SHA}"


def test_a_release_is_an_exact_pin() -> None:
    install = parse_install("0.2.0rc1")
    assert install is not None
    assert install.requirement == "pyodide-smithy==0.2.0rc1"
    assert install.label == "0.2.0rc1"
    assert not install.from_git


def test_a_git_url_at_a_commit_is_a_direct_reference() -> None:
    install = parse_install(GIT)
    assert install is not None
    assert install.requirement == f"pyodide-smithy @ {GIT}"
    assert install.label == "https://github.com/my-org/pyodide-smithy at 0123456789ab"


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "latest",
        ">=0.1",
        "0.1.0\n",
        "0.1.0 ; echo x",
        "git+https://github.com/my-org/pyodide-smithy@main",  # a branch moves
        "git+https://github.com/my-org/pyodide-smithy@0123456",  # a short commit is ambiguous
        f"git+http://github.com/my-org/pyodide-smithy@{SHA}",  # no plain http
        f"git+ssh://git@github.com/my-org/pyodide-smithy@{SHA}",
        f"git+https://github.com/my-org/../x@{SHA}",
        f"git+https://github.com/my-org/pyodide-smithy@{SHA}\n",
        f'git+https://github.com/a"b/c@{SHA}',
        f"git+https://github.com/a$(id)/c@{SHA}",
    ],
)
def test_anything_else_is_refused(spec: str) -> None:
    assert parse_install(spec) is None


def test_the_setting_wins_over_the_running_installation() -> None:
    assert effective_install(GIT) == SmithyInstall(GIT)
    assert effective_install("") == running_install()


def test_a_checkout_runs_as_the_release() -> None:
    assert running_install() == SmithyInstall(__version__)  # the tests run from an editable install


def _site(tmp_path: Path, data: object) -> Path:
    info = tmp_path / "pyodide_smithy-0.1.0.dist-info"
    info.mkdir()
    (info / "direct_url.json").write_text(json.dumps(data))
    return tmp_path


def test_an_installation_from_git_renders_that_commit(tmp_path: Path) -> None:
    # What pip writes for `pip install git+https://github.com/my-org/pyodide-smithy@SHA` (PEP 610)
    site = _site(
        tmp_path,
        {
            "url": "https://github.com/my-org/pyodide-smithy",
            "vcs_info": {"vcs": "git", "commit_id": SHA, "requested_revision": SHA},
        },
    )
    assert _from_direct_url(site) == SmithyInstall(GIT)


@pytest.mark.parametrize(
    "data",
    [
        {"url": "file:///tmp/pyodide_smithy-0.1.0-py3-none-any.whl", "archive_info": {}},
        {"url": "file:///src/pyodide-smithy", "dir_info": {"editable": True}},
        {"url": "ssh://git@github.com/o/r", "vcs_info": {"vcs": "git", "commit_id": SHA}},
        {"url": "https://example.org/r", "vcs_info": {"vcs": "hg", "commit_id": SHA}},
        {"url": "https://github.com/o/r\nx", "vcs_info": {"vcs": "git", "commit_id": SHA}},
        ["not", "a", "mapping"],
    ],
)
def test_other_installations_render_the_release(tmp_path: Path, data: object) -> None:
    assert _from_direct_url(_site(tmp_path, data)) is None


def test_the_feedstock_setting_is_validated_where_it_is_read() -> None:
    config = parse_config({"xbuildenv": "314.0.5", "pyodide-smithy": GIT}, Path("p.yml"))
    assert config.pyodide_smithy == GIT
    with pytest.raises(ConfigError) as err:
        parse_config({"xbuildenv": "314.0.5", "pyodide-smithy": "1.0\n  shell: x"}, Path("p.yml"))
    assert err.value.key == "pyodide-smithy"
    assert "expected an exact release such as '0.1.0', or 'git+https://" in err.value.message
