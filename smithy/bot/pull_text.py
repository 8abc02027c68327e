"""What the bot's pull request says: what changes (xbuildenv, Python, Emscripten, pyodide-build,
build-number, ABI), what it waited for, where the migration stands, what closing it means."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smithy.bot.plan import RERUN_LABEL

if TYPE_CHECKING:
    from smithy.xbuildenv import XBuildEnv


def title_for(target: XBuildEnv) -> str:
    return f"MNT: Re-render for xbuildenv {target.version}"


def build_number_note(before: int, after: int) -> str:
    """Why the pull request changes ``build-number``."""
    if after > before:
        return (
            f"build-number {before} → {after}: a rebuild of the same version, so its wheels get "
            "a new file name (a channel refuses a second, different file under a name it holds)."
        )
    return (
        f"build-number {before} → {after}: the recipe's version changed since the last render, "
        "and a new version starts again at 0."
    )


def pull_body(
    target: XBuildEnv,
    pinned: XBuildEnv | None,
    *,
    feedstock: str,
    status_url: str,
    waited_for: tuple[str, ...] = (),
    replaces: int | None = None,
    build_number: tuple[int, int] | None = None,
) -> str:
    """What changed, why now, where the migration stands, what closing the PR means, and the
    closed pull request it ``replaces`` (one GitHub would not re-open). ``build_number``: the
    rerender moved it from one value to the other."""
    from smithy.feedstock.init import pyodide_build_for

    def row(what: str, old: str | None, new: str) -> str:
        return f"| {what} | {old or '?'} | {new} |"

    abi_change = pinned is not None and target.abi_breaking_from(pinned)
    lines = [
        f"Re-render this feedstock for the Pyodide cross-build environment {target.version}.",
        "",
        "| | now | after |",
        "| --- | --- | --- |",
        row("xbuildenv", pinned.version if pinned else None, target.version),
        row("Python", pinned.python_version if pinned else None, target.python_version),
        row(
            "Emscripten",
            pinned.emscripten_version if pinned else None,
            target.emscripten_version,
        ),
        row(
            "pyodide-build",
            pyodide_build_for(pinned) if pinned else None,
            pyodide_build_for(target),
        ),
        *(
            [row("build-number", str(build_number[0]), str(build_number[1]))]
            if build_number
            else []
        ),
        "",
        *([build_number_note(*build_number), ""] if build_number else []),
        "**The ABI changes**: wheels must be rebuilt, and feedstocks that depend on this one "
        "wait until its new wheels are published."
        if abi_change
        else "The ABI does not change.",
        "",
        *(
            [
                "This pull request waited until these feedstocks published wheels for the new "
                "ABI: " + ", ".join(f"`{d}`" for d in waited_for) + ".",
                "",
            ]
            if waited_for
            else []
        ),
        f"Where every feedstock stands in this migration: {status_url}?feedstock={feedstock}",
        "",
        *(
            [
                f"This pull request replaces #{replaces}, labelled `{RERUN_LABEL}`: GitHub does "
                "not re-open a pull request whose branch was deleted, force-pushed or recreated "
                "after it was closed.",
                "",
            ]
            if replaces is not None
            else []
        ),
        "Closing this pull request without merging declines the migration: the bot will leave "
        f"this feedstock alone until the `{RERUN_LABEL}` label is added or the pull request "
        "is re-opened.",
        "",
        "_Opened by pyodide-smithy bot._",
    ]
    return "\n".join(lines)
