"""pyodide-smithy: feedstocks, channels and a migration bot for Pyodide packages."""

__version__ = "0.1.0"
