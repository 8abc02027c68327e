"""Findings for people (``file:line: ID level: message (fix: ...)``), for machines (JSON), and
for GitHub Actions (annotations on the pull request's files)."""

from __future__ import annotations

import json

from smithy.console import count, github_error
from smithy.lint.model import Finding, Level
from smithy.lint.run import LintResult


def line(finding: Finding) -> str:
    """One line whatever the recipe holds: a value quoted in a message may carry a newline."""
    where = f"{finding.file}:{finding.line}" if finding.line else finding.file
    text = f"{where}: {finding.id} {finding.level.value}: {finding.message} (fix: {finding.fix})"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def summary(result: LintResult) -> str:
    if not result.findings:
        return f"{result.path}: no findings"
    parts = (count(len(result.errors), "error"), count(len(result.hints), "hint"))
    return f"{result.path}: {', '.join(parts)}"


def text(result: LintResult) -> str:
    return "\n".join([*(line(f) for f in result.findings), summary(result)])


def to_json(result: LintResult) -> str:
    return json.dumps(result.to_json(), indent=2)


def annotation(finding: Finding) -> str:
    """``::error file=F,line=N,title=ID name::message (fix: ...)``; ``::notice`` for a hint.

    The file and message are escaped by smithy.console's ``github_error``; the line is a
    number and the title an id and a name, which need no escaping.
    """
    command = github_error(f"{finding.message} (fix: {finding.fix})", finding.file)
    props, message = command.removeprefix("::error").split("::", 1)
    extra = [f"line={finding.line}"] if finding.line else []
    extra.append(f"title={finding.id} {finding.name}")
    props = ",".join([p for p in [props.strip()] if p] + extra)
    kind = "error" if finding.level is Level.ERROR else "notice"
    return f"::{kind} {props}::{message}"
