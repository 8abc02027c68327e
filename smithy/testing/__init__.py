"""``test``: a feedstock's built wheels in a real Pyodide (Node.js): imports, then its tests."""

from smithy.testing.report import ImportOutcome, PyodideTestError, TestReport, format_report
from smithy.testing.run import run_test

__all__ = ["ImportOutcome", "PyodideTestError", "TestReport", "format_report", "run_test"]
