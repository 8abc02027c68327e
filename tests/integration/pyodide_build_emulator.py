"""Stands in for ``pyodide build-recipes-no-deps NAME --recipe-dir R --build-dir B`` on a machine
without Emscripten: the recipe's real ``build.script`` runs (here it calls Debian's clang and
wasm-ld, which make real wasm side modules), with the variables pyodide-build 0.39.2 gives it,
and the outputs land where pyodide-build leaves them. Read from pyodide-build 0.39.2:

- ``recipe/builder.py`` ``_get_helper_vars``: ``PKGDIR`` (the recipe folder), ``PKG_VERSION``,
  ``PKG_BUILD_DIR`` (the source tree), ``DISTDIR`` (``<source>/dist``), ``WASM_LIBRARY_DIR``
  (``<build-dir>/.libs``), ``PKG_CONFIG_LIBDIR`` (``$WASM_LIBRARY_DIR/lib/pkgconfig``);
- ``RecipeBuilderStaticLibrary._build_package``: the script only, no artifact;
- ``RecipeBuilderSharedLibrary._build_package``: the script, then ``make_zip_archive`` of
  ``$DISTDIR`` into ``<recipe>/dist/<name>-<version>.zip``, paths relative to ``$DISTDIR``;
- a package recipe: the script, then the PEP 517 build of the source tree into a wheel in
  ``<recipe>/dist`` and its retag to the xbuildenv's platform. Here the wheel is packed directly
  from the source tree's ``package.top-level`` folders, tagged with ``$EMULATED_WHEEL_TAG``.

Runs with the test's Python (its shebang is written by the test).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from ruamel.yaml import YAML


def main(args: list[str]) -> None:
    assert args[0] == "build-recipes-no-deps", args
    name = args[1]
    recipe = Path(args[args.index("--recipe-dir") + 1]) / name
    build = Path(args[args.index("--build-dir") + 1])
    meta = YAML(typ="safe").load((recipe / "meta.yaml").read_text())
    version = str(meta["package"]["version"])
    kind = (meta.get("build") or {}).get("type", "package")
    source = build / name / "build" / f"{name}-{version}"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(recipe / meta["source"]["path"], source)
    libs = build / ".libs"
    env = {
        **os.environ,
        "PKGDIR": str(recipe),
        "PKG_VERSION": version,
        "PKG_BUILD_DIR": str(source),
        "DISTDIR": str(source / "dist"),
        "WASM_LIBRARY_DIR": str(libs),
        "PKG_CONFIG_LIBDIR": str(libs / "lib" / "pkgconfig"),
    }
    script = (meta.get("build") or {}).get("script") or ""
    subprocess.run(["bash", "-ce", script], cwd=source, env=env, check=True)
    out = recipe / "dist"
    out.mkdir(exist_ok=True)
    if kind == "shared_library":
        with zipfile.ZipFile(out / f"{name}-{version}.zip", "w") as archive:
            for path in sorted((source / "dist").rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(source / "dist").as_posix())
    elif kind != "static_library":
        pack_wheel(meta, source, out, os.environ["EMULATED_WHEEL_TAG"])


def pack_wheel(meta: dict[str, object], source: Path, out: Path, tag: str) -> Path:
    package = meta["package"]
    assert isinstance(package, dict)
    dist = f"{str(package['name']).replace('-', '_')}-{package['version']}"
    members: dict[str, bytes] = {}
    for top in package.get("top-level", []):
        for path in sorted((source / top).rglob("*")):
            if path.is_file():
                members[path.relative_to(source).as_posix()] = path.read_bytes()
    members[f"{dist}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {package['name']}\nVersion: {package['version']}\n"
    ).encode()
    members[f"{dist}.dist-info/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: emulator\nRoot-Is-Purelib: false\nTag: {tag}\n"
    ).encode()
    record = [
        f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},"
        f"{len(d)}"
        for n, d in members.items()
    ]
    members[f"{dist}.dist-info/RECORD"] = (
        "\n".join([*record, f"{dist}.dist-info/RECORD,,"])
    ).encode()
    target = out / f"{dist}-{tag}.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return target


if __name__ == "__main__":
    main(sys.argv[1:])
