"""Requirements against the channel and the package index (``lint --online`` only).

The question "which of these projects exist" goes through one function that tests replace; the
real one asks the channel for its files once and the index for each remaining project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from smithy.lint import rules
from smithy.lint.model import Finding
from smithy.lint.subject import Subject, strings

Known = Callable[[Sequence[str]], set[str]]  # the normalised names, of those asked, that exist


def missing_requirements(s: Subject, known: Known) -> Iterator[Finding]:
    from packaging.requirements import InvalidRequirement, Requirement

    from smithy.recipe.model import normalize

    wanted: list[tuple[str, int, str, str]] = []
    for section in ("run", "host"):
        for i, item in enumerate(strings(s.section("requirements").get(section))):
            try:
                wanted.append((section, i, normalize(Requirement(item).name), item))
            except InvalidRequirement:
                continue  # PS004 names it
    if not wanted:
        return
    found = known(sorted({name for _, _, name, _ in wanted}))
    for section, i, name, item in wanted:
        if name not in found:
            yield rules.REQUIREMENT_NOT_FOUND.at(
                s.file,
                f"requirements.{section}[{i}]",
                f"requirements.{section} names {item}, which neither the channel nor the "
                "package index has",
                f"fix the name, or publish {name} first: pyodide-smithy init {name}",
            )


def channel_and_index(channel_url: str | None) -> Known:
    """Ask the channel (when there is one) for its projects, then the index for the rest."""

    def known(names: Sequence[str]) -> set[str]:
        from smithy.recipe.model import normalize
        from smithy.versions.index import IndexClient

        found: set[str] = set()
        if channel_url:
            from smithy.channel.open import open_channel

            found = {f.project for f in open_channel(channel_url).files()} & set(names)
        rest = [n for n in names if n not in found]
        pages = IndexClient().projects(rest)
        return found | {normalize(n) for n, files in pages.items() if files is not None}

    return known
