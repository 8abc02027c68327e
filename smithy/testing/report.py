"""What ``test`` found: per-import outcomes, pytest's exit code and output; JSON and text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smithy.errors import SmithyError


class PyodideTestError(SmithyError):
    """``test`` could not run: no Node.js, no wheel in dist/, a runner that would not install."""

    exit_code = 17


@dataclass(frozen=True, kw_only=True)
class ImportOutcome:
    """One ``import NAME`` inside Pyodide; ``traceback`` is Pyodide's own when it failed."""

    name: str
    ok: bool
    traceback: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "traceback": self.traceback}


@dataclass(frozen=True, kw_only=True)
class TestReport:
    """Both steps of ``test``: the import check (micropip + imports) and the recipe's tests."""

    __test__ = False  # not a pytest test class, whatever its name

    imports: tuple[ImportOutcome, ...]
    test_files: tuple[str, ...]
    pytest_exit: int | None  # None when the recipe has no test files (or they did not run)
    pytest_output: str
    install_error: str | None = None  # micropip could not install the wheels: nothing ran
    wheels: tuple[str, ...] = ()  # the file names from dist/ under test
    installed: tuple[str, ...] = ()  # ``name==version`` of all micropip installed
    pyodide: str = ""  # npm ``pyodide`` version that ran them

    @property
    def ok(self) -> bool:
        return (
            self.install_error is None
            and all(i.ok for i in self.imports)
            and self.pytest_exit in (None, 0)
        )

    @property
    def failed_imports(self) -> tuple[ImportOutcome, ...]:
        return tuple(i for i in self.imports if not i.ok)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "pyodide": self.pyodide,
            "wheels": list(self.wheels),
            "installed": list(self.installed),
            "install_error": self.install_error,
            "imports": [i.to_json() for i in self.imports],
            "test_files": list(self.test_files),
            "pytest_exit": self.pytest_exit,
            "pytest_output": self.pytest_output,
        }


def format_report(report: TestReport) -> str:
    """The report for people: what failed first, with Pyodide's traceback and pytest's output."""
    lines = [f"Pyodide {report.pyodide or '?'} in Node.js: {', '.join(report.wheels) or '-'}"]
    if report.install_error is not None:
        lines += ["micropip could not install the wheels:", _indent(report.install_error)]
    else:
        lines.append(f"micropip installed: {', '.join(report.installed) or '-'}")
        passed = len(report.imports) - len(report.failed_imports)
        lines.append(f"imports: {passed} of {len(report.imports)} passed")
        for outcome in report.imports:
            lines.append(f"  {'ok' if outcome.ok else 'FAILED':<6}  import {outcome.name}")
            if not outcome.ok and outcome.traceback:
                lines.append(_indent(outcome.traceback, "      "))
    lines.append(_tests_line(report))
    if report.pytest_exit not in (None, 0) and report.pytest_output.strip():
        lines.append(report.pytest_output.rstrip())
    lines.append("result: " + ("passed" if report.ok else "FAILED"))
    return "\n".join(lines)


def _tests_line(report: TestReport) -> str:
    files = ", ".join(report.test_files)
    if not report.test_files:
        return "tests: the recipe has no test_*.py files"
    if report.pytest_exit is None:
        return f"tests ({files}): not run, the wheels could not be installed"
    outcome = "passed" if report.pytest_exit == 0 else f"FAILED (pytest exit {report.pytest_exit})"
    summary = _last_line(report.pytest_output)
    return f"tests ({files}): {outcome}" + (f" - {summary}" if summary else "")


def _last_line(text: str) -> str:
    stripped = [line.strip("= ") for line in text.splitlines() if line.strip("= ")]
    return stripped[-1] if stripped else ""


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.rstrip().splitlines())
