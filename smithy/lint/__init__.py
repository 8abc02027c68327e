"""``pyodide-smithy lint``: findings with stable ids over a recipe and its feedstock.

Each check is a small function over what was read once (smithy.lint.subject); rules.py holds
every id with its level; docs/lint.md explains each with an example and the fix.
"""
