"""``pyodide-smithy build``: a feedstock's recipe built into wheels (or library files).

model.py     BuildResult, BuildError, the build settings read from meta.yaml
core.py      run_build: read the feedstock, build in a temporary folder, publish
source.py    sources fetched once, cached by sha256, from the package index as fallback
pure.py      wheel recipes and pure sdists (pypa/build), no Emscripten
wheelops.py  build.post in the unpacked wheel, purity check, test unvendoring
compiled.py  pyodide-build with Emscripten: checks, command line and environment
host.py      host requirements from the channel into HOSTSITEPACKAGES / WASM_LIBRARY_DIR
library.py   a library build's outputs packed as a library wheel
finalize.py  last step on every wheel: build tag, Requires-Dist from the recipe
runner.py    the one helper every subprocess goes through
"""

from __future__ import annotations

from smithy.build.core import run_build
from smithy.build.model import BuildError, BuildResult

__all__ = ["BuildError", "BuildResult", "run_build"]
