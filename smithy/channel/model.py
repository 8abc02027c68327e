"""What every channel backend speaks: files with labels and provenance, behind one Protocol."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from smithy import __version__
from smithy.channel.wheel import Wheel

MAIN = "main"
Outcome = Literal["uploaded", "exists", "labelled", "replaced"]
ATTRS_PREFIX = "pyodide_smithy_"  # flat string attrs: pyodide_smithy_sha256, …
DESCRIPTION_PREFIX = "pyodide-smithy provenance "  # then the provenance as JSON


@dataclass(frozen=True, kw_only=True)
class Provenance:
    """Where a file came from, recorded with it at upload and checked at promotion."""

    sha256: str
    feedstock: str | None = None
    commit: str | None = None
    run_url: str | None = None
    xbuildenv: str | None = None
    tool: str = f"pyodide-smithy {__version__}"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Any) -> Provenance | None:
        if not isinstance(data, dict) or not isinstance(data.get("sha256"), str):
            return None
        known = {k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_attrs(self) -> dict[str, str]:
        """Flat string attrs (``pyodide_smithy_sha256``, …): no object for a server to drop."""
        return {ATTRS_PREFIX + k: str(v) for k, v in self.to_dict().items()}

    def to_description(self) -> str:
        """One line for a file's description, which every answer carries whatever the attrs."""
        return DESCRIPTION_PREFIX + json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def read(cls, attrs: Any, description: Any = None) -> Provenance | None:
        """From a file as a server answers it: flat attrs, the ``pyodide_smithy`` object older
        uploads carry, else the description; None when none holds a sha256."""
        attrs = attrs if isinstance(attrs, dict) else {}
        flat = {
            k.removeprefix(ATTRS_PREFIX): v for k, v in attrs.items() if k.startswith(ATTRS_PREFIX)
        }
        found = cls.from_dict(flat) or cls.from_dict(attrs.get("pyodide_smithy"))
        if (
            found is None
            and isinstance(description, str)
            and description.startswith(DESCRIPTION_PREFIX)
        ):
            try:
                found = cls.from_dict(json.loads(description.removeprefix(DESCRIPTION_PREFIX)))
            except ValueError:
                return None
        return found

    @classmethod
    def from_ci(
        cls, sha256: str, *, feedstock: str | None, commit: str | None, xbuildenv: str | None
    ) -> Provenance:
        """Fill in what GitHub Actions tells about the run, when it runs there."""
        env = os.environ
        repo = env.get("GITHUB_REPOSITORY")
        run_url = None
        if repo and env.get("GITHUB_RUN_ID"):
            server = env.get("GITHUB_SERVER_URL", "https://github.com")
            run_url = f"{server}/{repo}/actions/runs/{env['GITHUB_RUN_ID']}"
        return cls(
            sha256=sha256,
            feedstock=repo or feedstock,
            commit=env.get("GITHUB_SHA") or commit,
            run_url=run_url,
            xbuildenv=xbuildenv,
        )


@dataclass(frozen=True, kw_only=True)
class ChannelFile:
    package: str  # as the channel spells it
    version: str
    filename: str
    sha256: str  # "" when the channel does not know it (Anaconda.org's legacy "None")
    size: int
    labels: tuple[str, ...]
    upload_time: str
    provenance: Provenance | None = None
    url: str = ""  # where the bytes can be downloaded (absolute)
    md5: str = ""  # what Anaconda.org records beside (or instead of) the sha256

    @property
    def project(self) -> str:
        from smithy.recipe.model import normalize

        return normalize(self.package)

    def differs(self, data: bytes) -> str | None:
        """Why ``data`` are not this file's bytes as the channel lists them (by sha256, else
        md5), or None: also when the channel records neither."""
        if self.sha256:
            actual = hashlib.sha256(data).hexdigest()
            if actual != self.sha256:
                return f"sha256 ({self.sha256[:12]}… on the channel, {actual[:12]}… here)"
        elif self.md5:
            actual = hashlib.md5(data).hexdigest()  # noqa: S324 - the channel's own record
            if actual != self.md5:
                return f"md5 ({self.md5[:12]}… on the channel, {actual[:12]}… here)"
        return None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["labels"] = list(self.labels)
        out["provenance"] = self.provenance.to_dict() if self.provenance else None
        return out


class Channel(Protocol):
    """One interface, two backends: ``smithy.channel.local`` and ``smithy.channel.anaconda``."""

    description: str

    def files(self, package: str | None = None) -> list[ChannelFile]:
        """Every file, or those of one package (one request for a remote channel)."""
        ...

    def put(self, wheel: Wheel, *, labels: tuple[str, ...], provenance: Provenance) -> None:
        """Store a file that is not there yet, with these labels."""
        ...

    def delete(self, file: ChannelFile) -> None:
        """Remove a file from every label."""
        ...

    def set_label(self, file: ChannelFile, label: str, *, present: bool) -> None:
        """Add a label to (or remove it from) a file that is there."""
        ...

    def download(self, file: ChannelFile) -> bytes: ...

    def index_url(self, label: str = MAIN) -> str:
        """The PEP 503 index users install from, for one label."""
        ...
