"""The outputs registry: which feedstock owns which package name (from the admin repository)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smithy.channel.model import ChannelFile
from smithy.errors import ConfigError
from smithy.recipe.model import normalize


@dataclass(frozen=True)
class Registry:
    owners: dict[str, str]  # normalised package name -> feedstock ("org/name-feedstock")
    source: str

    def refusals(self, f: ChannelFile) -> list[str]:
        owner = self.owners.get(f.project)
        if owner is None:
            return []
        made_by = f.provenance.feedstock if f.provenance else None
        if made_by is None or _repo_name(made_by) != _repo_name(owner):
            return [
                f"{f.package} belongs to {owner}, but this file came from "
                f"{made_by or 'an unknown feedstock'}"
            ]
        return []


def _repo_name(feedstock: str) -> str:
    return feedstock.rstrip("/").rsplit("/", 1)[-1].lower()


def load_registry(source: str) -> Registry:
    """A YAML or JSON mapping ``package: feedstock``, from a file or an http(s) URL."""
    from smithy.yamlio import load_yaml_text

    if source.startswith(("http://", "https://")):
        from smithy import http

        text = http.get(source, what="the outputs registry").text
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the outputs registry: {exc.strerror}", file=source
            ) from None
    data = load_yaml_text(text, Path(source), error=ConfigError)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError("the outputs registry must map package names to feedstocks", file=source)
    return Registry({normalize(str(k)): v for k, v in data.items()}, source)
