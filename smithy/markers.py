"""The PEP 508 marker environment of a Pyodide: what ``; sys_platform == "emscripten"`` sees."""

from __future__ import annotations


def pyodide_environment(python_version: str, emscripten_version: str = "") -> dict[str, str]:
    """Markers as Pyodide's own ``packaging.markers.default_environment()`` gives them."""
    parts = [*python_version.split(".")[:2], "0"][:2]
    return {
        "sys_platform": "emscripten",
        "platform_system": "Emscripten",
        "platform_machine": "wasm32",
        "platform_release": emscripten_version,
        "platform_version": "#1",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "implementation_version": python_version,
        "python_full_version": python_version,
        "python_version": ".".join(parts),
        "extra": "",
    }
