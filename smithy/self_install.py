"""Where generated CI gets pyodide-smithy: a release from the package index, or a git commit.

A feedstock's CI must run the pyodide-smithy that rendered it. By default that is the running
installation: the exact release, or, when it was installed from a git URL at a commit (PEP 610's
``direct_url.json``), that URL and commit. ``pyodide-smithy:`` in ``pyodide-smithy.yml`` and
``bot init-admin --pyodide-smithy`` set it explicitly. Every value reaches a workflow, so only
the two shapes below are accepted: nothing else can be written into CI through this setting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from smithy import __version__

_RELEASE = r"[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?"
_GIT = r"git\+https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/(?!\.\.?(?:/|@))[A-Za-z0-9._~-]+)+@[0-9a-f]{40}"
PATTERN = f"^(?:|{_RELEASE}|{_GIT})$"
"""What ``pyodide-smithy:`` may hold (empty: the running installation); also the JSON Schema's."""

DESCRIPTION = (
    "an exact release such as '0.1.0', or 'git+https://HOST/OWNER/REPO@COMMIT' "
    "with the full 40-character commit"
)


@dataclass(frozen=True)
class SmithyInstall:
    """One way to install pyodide-smithy: ``spec`` is a release or ``git+https://…@commit``."""

    spec: str

    @property
    def from_git(self) -> bool:
        return self.spec.startswith("git+")

    @property
    def requirement(self) -> str:
        """The requirement pip installs (PEP 508; a direct reference names the project too)."""
        if self.from_git:
            return f"pyodide-smithy @ {self.spec}"
        return f"pyodide-smithy=={self.spec}"

    @property
    def label(self) -> str:
        """A short name for step titles and READMEs: ``0.1.0`` or ``git 1a2b3c4d5e6f``."""
        if self.from_git:
            return f"{self.spec.rsplit('@', 1)[0].removeprefix('git+')} at {self.spec[-40:][:12]}"
        return self.spec


def parse_install(spec: str) -> SmithyInstall | None:
    """``spec`` as an install source, or ``None`` if it is neither accepted shape (or empty)."""
    if spec and re.fullmatch(PATTERN, spec):
        return SmithyInstall(spec)
    return None


def effective_install(configured: str) -> SmithyInstall:
    """The feedstock's own setting when it has one, else the running installation."""
    return parse_install(configured) or running_install()


@cache
def running_install() -> SmithyInstall:
    """This installation: the git URL and commit pip installed it from, else its release."""
    return _from_direct_url(Path(__file__).resolve().parent.parent) or SmithyInstall(__version__)


def _from_direct_url(site: Path) -> SmithyInstall | None:
    """The git URL and commit pip recorded when it installed this package from a VCS URL.

    An editable checkout has its dist-info elsewhere (the package directory is not in
    site-packages), a wheel file or an sdist records an archive: both mean "the release".
    """
    for record in site.glob("pyodide_smithy-*.dist-info/direct_url.json"):
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            vcs = data.get("vcs_info") or {}
            if vcs.get("vcs") != "git":
                return None
            return parse_install(f"git+{data['url']}@{vcs['commit_id']}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
    return None
