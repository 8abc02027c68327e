"""Every lint rule, by id: ``PS`` (pyodide-smithy), a digit for the concern, two for the rule.

PS0 reading the files, PS1 package and about, PS2 source, PS3 maintainers, PS4 imports and
tests, PS5 requirements, PS6 what Pyodide's builds need. An id never changes meaning and is
never reused; a retired rule keeps its number. docs/lint.md has each with an example and the fix.
"""

from __future__ import annotations

from smithy.lint.model import Level, Rule

E, H = Level.ERROR, Level.HINT

YAML_INVALID = Rule(id="PS001", name="yaml-invalid", level=E, title="meta.yaml cannot be read")
UNKNOWN_KEY = Rule(id="PS002", name="unknown-key", level=E, title="a key pyodide-build refuses")
SCHEMA_INVALID = Rule(
    id="PS003", name="schema-invalid", level=E, title="pyodide-build's schema refuses the recipe"
)
VALUE_REFUSED = Rule(
    id="PS004", name="value-refused", level=E, title="a value pyodide-smithy refuses"
)
SETTINGS_INVALID = Rule(
    id="PS005", name="settings-invalid", level=E, title="pyodide-smithy.yml is refused"
)
UNKNOWN_EXTRA_KEY = Rule(
    id="PS006", name="unknown-extra-key", level=H, title="a key under extra nothing reads"
)

MISSING_LICENSE = Rule(id="PS101", name="missing-license", level=H, title="no about.license")
LICENSE_NOT_SPDX = Rule(
    id="PS102", name="license-not-spdx", level=H, title="about.license is no SPDX expression"
)
MISSING_SUMMARY = Rule(id="PS103", name="missing-summary", level=H, title="no about.summary")
MISSING_HOME = Rule(
    id="PS104", name="missing-home", level=H, title="neither about.home nor about.PyPI"
)
VERSION_NUMBER = Rule(
    id="PS105", name="version-not-text", level=E, title="package.version is read as a number"
)
NAME_NOT_FOLDER = Rule(
    id="PS106", name="name-not-folder", level=H, title="package.name differs from its folder"
)

INSECURE_SOURCE = Rule(id="PS201", name="http-source", level=H, title="source.url is http://")
MOVING_SOURCE = Rule(
    id="PS202", name="unpinned-source", level=E, title="source.url names a branch or 'latest'"
)
SHA256_FORMAT = Rule(
    id="PS203", name="sha256-format", level=E, title="source.sha256 is not a sha256 digest"
)
VERSION_NOT_IN_URL = Rule(
    id="PS204", name="version-not-in-url", level=H, title="an sdist URL without the version"
)
WHEEL_NAME = Rule(
    id="PS205", name="wheel-name-mismatch", level=E, title="the source wheel is another project"
)
WHEEL_VERSION = Rule(
    id="PS206", name="wheel-version-mismatch", level=E, title="the source wheel is another version"
)
WHEEL_PLATFORM = Rule(
    id="PS207",
    name="wheel-not-for-pyodide",
    level=E,
    title="the source wheel cannot run in Pyodide",
)
VENDOR_SHAREDLIB_WHEEL = Rule(
    id="PS208", name="vendor-sharedlib-ignored", level=H, title="build.vendor-sharedlib on a wheel"
)
PATCH_FAILS = Rule(
    id="PS209", name="patch-does-not-apply", level=E, title="the cached source does not patch"
)

NO_MAINTAINERS = Rule(
    id="PS301", name="missing-maintainers", level=H, title="no extra.recipe-maintainers"
)
PLACEHOLDER_MAINTAINER = Rule(
    id="PS302", name="placeholder-maintainer", level=H, title="a maintainer is a placeholder"
)
DUPLICATE_MAINTAINER = Rule(
    id="PS303", name="duplicate-maintainer", level=H, title="a maintainer is listed twice"
)

NO_IMPORTS = Rule(
    id="PS401", name="missing-test-imports", level=H, title="nothing for CI to import"
)
IMPORT_OUTSIDE = Rule(
    id="PS402", name="import-outside-top-level", level=H, title="a test import outside top-level"
)
TOP_LEVEL_MISSING = Rule(
    id="PS403", name="top-level-not-in-wheel", level=E, title="a top-level name the wheel lacks"
)
TOP_LEVEL_UNLISTED = Rule(
    id="PS404", name="wheel-module-not-listed", level=H, title="a wheel module not in top-level"
)

DUPLICATE_REQUIREMENT = Rule(
    id="PS501", name="duplicate-requirement", level=H, title="a requirement listed twice"
)
STATIC_AT_RUN_TIME = Rule(
    id="PS502", name="static-library-at-run-time", level=E, title="a static library in run"
)
REQUIREMENT_NOT_FOUND = Rule(
    id="PS503", name="requirement-not-found", level=E, title="on neither the channel nor the index"
)

LIBRARY_VERSION = Rule(
    id="PS601", name="library-version-not-pep440", level=H, title="no library wheel of it"
)
PURE_PYTHON_IMPOSSIBLE = Rule(
    id="PS602", name="pure-python-impossible", level=E, title="pure-python: true cannot hold"
)

RULES: tuple[Rule, ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, Rule)
)
BY_ID = {rule.id: rule for rule in RULES}
