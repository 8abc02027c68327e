"""``test``: the built wheels of a feedstock in a real Pyodide (Node.js), in two steps.

1. The import check: one Pyodide start-up in which micropip installs ``dist/``'s wheels and
   their run requirements from the channel's ``main`` label (and the package index for
   pure-Python ones), then imports every ``test.imports`` (else ``package.top-level``), each on
   its own, collecting every failure with its traceback from inside Pyodide.
2. The recipe's ``test_*.py`` files, run by pytest-pyodide in its own environment, against a
   Pyodide whose lock lists the very wheels micropip installed in step 1 (one Pyodide for all
   test files). When the channels alone hold every dependency, the lock is made with our own
   resolver and step 2 runs at the same time as step 1, on the other core; its result is kept
   only if micropip installed exactly the locked versions, else step 2 runs again after step 1
   with micropip's choices.

Local channels are served on 127.0.0.1 for micropip; nothing ever comes from Pyodide's CDN.
After the first run (npm's ``pyodide``, the runner's environment and its wheels are cached,
see ``smithy.testing.environment``) nothing is downloaded unless micropip needs a dependency
from the package index. ``$PYODIDE_SMITHY_RUNTIME_DIR`` and ``$PYODIDE_SMITHY_TEST_RUNNER_DIR``
point at an installed runtime and at the runners' folder instead of the cache.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

from smithy.channel.local import LocalChannel
from smithy.channel.model import MAIN, Channel, Provenance
from smithy.channel.wheel import Wheel, check_platform, read_wheel
from smithy.errors import FeedstockError
from smithy.pyodide_runtime import PyodideRuntime
from smithy.testing.imports import ImportCheck, check_imports
from smithy.testing.report import PyodideTestError, TestReport
from smithy.xbuildenv import XBuildEnv


def run_test(feedstock: Path, *, dist: Path, channel: str | None = None) -> TestReport:
    """Test the wheels in ``dist`` for ``feedstock``; dependencies come from ``channel`` (else
    the feedstock's ``channel.url``). The report says what failed; setup problems raise."""
    from smithy.channel.open import open_channel
    from smithy.config import CONFIG_FILE, load_config
    from smithy.feedstock.state import RECIPE_DIR, check_feedstock, read_manifest
    from smithy.recipe.load import load_recipe
    from smithy.recipe.pypi_index import index_url_from_env, redact
    from smithy.testing.environment import runtime_for

    feedstock = feedstock.absolute()
    check_feedstock(feedstock)
    config = load_config(feedstock / CONFIG_FILE)
    manifest = read_manifest(feedstock)
    if manifest is None:
        raise FeedstockError(
            "the feedstock was never rendered (no .pyodide-smithy/manifest.json): "
            "run `pyodide-smithy rerender`",
            file=feedstock,
        )
    xbuildenv = manifest.xbuildenv
    recipe = load_recipe(feedstock / RECIPE_DIR)
    if shutil.which("node") is None:
        raise PyodideTestError(
            "`node` was not found on PATH: install Node.js 18 or newer to test in Pyodide"
        )
    wheels = _dist_wheels(dist, xbuildenv)
    # The channel is checked before the runtime is set up: a wrong one fails in a second.
    reached = _reachable(open_channel(channel or config.channel.url), wheels, explicit=channel)
    runtime = runtime_for(xbuildenv)
    requirements = sorted({f"{w.name}=={w.version}" for w in wheels})
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pyodide-smithy-")))
        source, indexes = _indexes(stack, tmp, wheels, reached)
        pypi = index_url_from_env()
        indexes.append(pypi)

        def run_steps(
            requests: list[str], extra: list[Path], attempt: str
        ) -> tuple[int, str, dict[str, str]]:
            return _recipe_tests(
                feedstock / RECIPE_DIR,
                recipe.test_files,
                requests=requests,
                wheels=[*(w.path for w in wheels), *extra],
                channel=source,
                xbuildenv=xbuildenv,
                runtime=runtime,
                tmp=tmp / attempt,
            )

        speculative = None
        if recipe.test_files:
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
            speculative = pool.submit(_speculate, run_steps, requirements)
        names, libraries = _checks(recipe.import_names, wheels)
        check = check_imports(
            runtime,
            requirements=requirements,
            index_urls=indexes,
            names=names,
            libraries=libraries,
        )
        install_error = check.install_error
        if install_error is not None:
            where = f"{dist}, {source.description} (label {MAIN}), {redact(pypi)}"
            install_error += f"\n(micropip looked in: {where})"
        exit_code: int | None = None
        output = ""
        if recipe.test_files and install_error is None:
            early = speculative.result() if speculative is not None else None
            if early is not None and _same_versions(check, early[2]):
                exit_code, output = early[0], early[1]
            else:
                from smithy.testing.fetch import index_wheels

                exit_code, output, _ = run_steps(
                    [f"{i.name}=={i.version}" for i in check.installed],
                    index_wheels(
                        check.installed, channel=source, known={w.filename for w in wheels}
                    ),
                    "after",
                )
    return TestReport(
        imports=check.imports,
        test_files=recipe.test_files,
        pytest_exit=exit_code,
        pytest_output=output,
        install_error=install_error,
        wheels=tuple(w.filename for w in wheels),
        installed=tuple(f"{i.name}=={i.version}" for i in check.installed),
        pyodide=runtime.version,
    )


def _checks(
    imports: tuple[str, ...], wheels: list[Wheel]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What step 1 tries: the recipe's imports, and for a library wheel its helper package and
    each runtime file at the wheel's top, loaded by bare name as a dependent would."""
    import zipfile

    from smithy.library import LibraryManifestError, read_manifest
    from smithy.platform import parse_wheel_name

    names, libraries = list(imports), []
    for wheel in wheels:
        if not parse_wheel_name(wheel.filename).library:
            continue
        try:
            with zipfile.ZipFile(wheel.path) as archive:
                manifest = read_manifest(archive, wheel.project)
                top = [n for n in archive.namelist() if "/" not in n and ".so" in n]
        except (OSError, zipfile.BadZipFile, LibraryManifestError) as exc:
            raise FeedstockError(f"{wheel.filename} is not a library wheel: {exc}") from None
        if manifest is None:
            continue
        names.append(manifest.package)
        libraries += sorted(top)
    return tuple(dict.fromkeys(names)), tuple(libraries)


def _indexes(
    stack: ExitStack, tmp: Path, wheels: list[Wheel], reached: Channel | None
) -> tuple[Channel, list[str]]:
    """The channel the lock resolves over, and the indexes micropip reads before the package
    index: dist/'s wheels and the channel, local ones served on 127.0.0.1."""
    served = LocalChannel(tmp / "dist-channel")
    for wheel in wheels:
        served.put(wheel, labels=(MAIN,), provenance=Provenance(sha256=wheel.sha256))
    indexes = [stack.enter_context(_serving(served.root)) + "/simple"]
    if reached is None:  # the package index alone; the lock resolves over an empty channel
        empty = LocalChannel(tmp / "no-channel")
        empty.root.mkdir()
        return empty, indexes
    if isinstance(reached, LocalChannel):
        indexes.append(stack.enter_context(_serving(reached.root)) + "/simple")
    else:
        indexes.append(reached.index_url(MAIN))
    return reached, indexes


def _reachable(source: Channel, wheels: list[Wheel], *, explicit: str | None) -> Channel | None:
    """``source`` if it answers. A ``--channel`` the user chose must; the feedstock's own
    channel may not (offline, or not created yet): a warning, and ``None`` for the package
    index alone."""
    from smithy.channel.open import existing
    from smithy.errors import ChannelError, NetworkError, UsageError

    try:
        existing(source)
        if not isinstance(source, LocalChannel):
            source.files(wheels[0].project)  # one small request, of the kind step 2 makes
    except (UsageError, NetworkError, ChannelError) as exc:
        if explicit is not None:
            raise type(exc)(exc.message, file=exc.file, key="--channel") from None
        from smithy import console

        console.warn(
            f"the feedstock's channel {source.description} cannot be used "
            f"({exc.message}): dependencies come from the package index only "
            "(pass --channel DIR to use a local channel)"
        )
        return None
    return source


def _recipe_tests(
    recipe_dir: Path,
    test_files: tuple[str, ...],
    *,
    requests: list[str],
    wheels: list[Path],
    channel: Channel,
    xbuildenv: XBuildEnv,
    runtime: PyodideRuntime,
    tmp: Path,
) -> tuple[int, str, dict[str, str]]:
    """Step 2 over a lock of ``requests``; also returns the locked ``{name: version}``."""
    import json

    from smithy.testing.environment import ensure_runner, pyodide_wheels
    from smithy.testing.recipe_tests import prepare_dist_dir, run_pytest

    runner = ensure_runner(xbuildenv)
    tmp.mkdir(parents=True, exist_ok=True)
    dist_dir = prepare_dist_dir(
        tmp / "pyodide-dist",
        runtime=runtime,
        requests=requests,
        wheels=[*wheels, *pyodide_wheels(runner, xbuildenv.python_short)],
        channel=channel,
        xbuildenv=xbuildenv,
    )
    lock = json.loads((dist_dir / "pyodide-lock.json").read_text(encoding="utf-8"))
    locked = {name: entry["version"] for name, entry in lock["packages"].items()}
    files = [recipe_dir / name for name in test_files]
    code, output = run_pytest(runner, test_files=files, dist_dir=dist_dir, workdir=tmp)
    return code, output, locked


def _speculate(
    run_steps: Callable[[list[str], list[Path], str], tuple[int, str, dict[str, str]]],
    requirements: list[str],
) -> tuple[int, str, dict[str, str]] | None:
    """Step 2 before step 1 is done, when the channels alone satisfy the closure."""
    from smithy.lock.resolve import ResolutionError

    try:
        return run_steps(requirements, [], "early")
    except ResolutionError:
        return None  # something comes from the package index: wait for micropip's choice


def _same_versions(check: ImportCheck, locked: dict[str, str]) -> bool:
    from packaging.utils import canonicalize_name

    return all(locked.get(canonicalize_name(i.name)) == i.version for i in check.installed)


def _dist_wheels(dist: Path, xbuildenv: XBuildEnv) -> list[Wheel]:
    if not dist.is_dir():
        raise PyodideTestError("no dist/ folder: build the package first", file=dist)
    paths = sorted(dist.glob("*.whl"))
    if not paths:
        raise PyodideTestError("no wheel in dist/: build the package first", file=dist)
    wheels = [read_wheel(p.absolute()) for p in paths]
    versions: dict[str, set[str]] = {}
    for wheel in wheels:
        check_platform(wheel, xbuildenv)
        versions.setdefault(wheel.project, set()).add(wheel.version)
    for project, found in sorted(versions.items()):
        if len(found) > 1:
            raise PyodideTestError(
                f"dist/ holds {project} {' and '.join(sorted(found))}: keep one version",
                file=dist,
            )
    return wheels


@contextmanager
def _serving(root: Path) -> Iterator[str]:
    """A local channel on 127.0.0.1 (any free port), quiet; yields its base URL."""
    from smithy.channel.serve import make_server

    server = make_server(root, port=0)
    setattr(server.RequestHandlerClass, "log_message", _silent)  # noqa: B010 - per-server class
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _silent(*_args: object) -> None:
    return None
