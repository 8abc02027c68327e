"""What every channel backend speaks: files with labels and provenance, behind one Protocol."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from smithy import __version__
from smithy.channel.wheel import Wheel

MAIN = "main"
Outcome = Literal["uploaded", "exists", "labelled", "replaced"]


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
    package: str  # as the channel writes it (METADATA Name)
    version: str
    filename: str
    sha256: str
    size: int
    labels: tuple[str, ...]
    upload_time: str
    provenance: Provenance | None = None
    url: str = ""  # where the bytes can be downloaded

    @property
    def project(self) -> str:
        from smithy.recipe.model import normalize

        return normalize(self.package)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["labels"] = list(self.labels)
        out["provenance"] = self.provenance.to_dict() if self.provenance else None
        return out


@dataclass
class Listing:
    """Files by package, fetched once per package: "is it there already" costs one request."""

    by_package: dict[str, list[ChannelFile]] = field(default_factory=dict)

    def find(self, wheel: Wheel) -> ChannelFile | None:
        for f in self.by_package.get(wheel.project, []):
            if f.filename == wheel.filename:
                return f
        return None


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
