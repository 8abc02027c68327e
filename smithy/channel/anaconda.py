"""Anaconda.org over its REST API (../shared/ANACONDA_API.md), with requests.

The shared HTTP session retries reads only; a call that creates state (stage, storage, commit,
copy, a label) is tried once here, and the caller re-reads what the server holds before trying
again (``smithy.channel.upload``, ``smithy.channel.review``); only a 429, which says the server
did not act, is sent again after the wait it asks for. Every call has a timeout; each file's
bytes go to storage on a fresh connection. The token is sent only in the API's
``Authorization`` header, only over https (or http to a loopback address), never along a
redirect that leaves the API's origin, and never printed.

What is sent has the shapes anaconda-client 1.16 sends (``binstar_client/__init__.py``,
``inspect_package/pypi.py``): licence as ``{name, url, family}``, file attrs ``{build_no,
python_version, abi, packagetype}``, ``Requires-Dist`` as its ``dependencies``. The provenance
rides in flat string attrs *and* in the file's description, so a server that drops objects (or
every attr it does not know) from attrs still answers it.

Package names: the server keeps spellings apart (``scipy_openblas64`` and ``scipy-openblas64``
are two packages), so a project is looked for under each of ``rules.package_spellings`` (PEP 503
form first) and uploaded into the package found; a new package gets the PEP 503 name, the one
spelling every later lookup can compute from any requirement. (anaconda-client creates METADATA
``Name`` as written; such a package is found and used.)
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin

from smithy.channel.model import MAIN, ChannelFile, Provenance
from smithy.channel.rules import package_spellings, same_origin, token_may_go_to
from smithy.channel.wheel import Wheel
from smithy.errors import ChannelError, NetworkError
from smithy.http import reason

if TYPE_CHECKING:
    import requests

DEFAULT_API = "https://api.anaconda.org"
DEFAULT_INDEX = "https://pypi.anaconda.org"
UPLOAD_TIMEOUT = (10.0, 300.0)
MAX_REDIRECTS = 5
THROTTLED_TRIES = 3  # a write answered 429 (not acted on) is sent at most this often
READS = ("GET", "HEAD")


class AnacondaChannel:
    def __init__(self, owner: str, *, api_url: str, index_url: str, token: str | None) -> None:
        self.owner = owner
        self.api_url = api_url.rstrip("/")
        self.index_base = index_url.rstrip("/")
        self._token = token
        host = "anaconda.org" if self.api_url == DEFAULT_API else self.api_url
        self.description = f"{host}/{owner}"

    # reading ------------------------------------------------------------------------------

    def files(self, package: str | None = None) -> list[ChannelFile]:
        """One package's files (one request while the name is spelled as the server holds it),
        or the whole owner's (``GET /packages/OWNER``, then one request per package)."""
        if package is None:
            listed = self._call("GET", self._path("packages")) or []
            names = [str(p["name"]) for p in listed if isinstance(p, dict) and p.get("name")]
            found = [self._call("GET", self._path("package", n), missing_ok=True) for n in names]
            return [f for data in found if data for f in self._files(data)]
        data = self._find(package)
        return self._files(data) if data else []

    def download(self, file: ChannelFile) -> bytes:
        from smithy import http

        return http.get(file.url, what=f"{file.filename} from {self.description}").content

    def index_url(self, label: str = MAIN) -> str:
        middle = "" if label == MAIN else f"/label/{quote(label, safe='')}"
        return f"{self.index_base}/{quote(self.owner, safe='')}{middle}/simple/"

    # writing ------------------------------------------------------------------------------

    def put(self, wheel: Wheel, *, labels: tuple[str, ...], provenance: Provenance) -> None:
        """Upload into the package that holds the project under any spelling, else into a new
        one with the project's PEP 503 name."""
        name, created = self._ensure_package_and_release(wheel)
        try:
            staged = self._call(
                "POST",
                self._path("stage", name, wheel.version, wheel.filename),
                json={
                    "distribution_type": "pypi",
                    "attrs": {**client_attrs(wheel.filename), **provenance.to_attrs()},
                    "dependencies": client_dependencies(wheel.requires_dist),
                    "channels": list(labels),
                    "sha256": wheel.sha256,
                    "description": provenance.to_description(),
                },
            )
            self._store(wheel, staged)
            self._call(
                "POST",
                self._path("commit", name, wheel.version, wheel.filename),
                json={"dist_id": staged["dist_id"]},
            )
        except BaseException:
            if created:
                self._drop_if_empty(name, wheel.version)
            raise

    def delete(self, file: ChannelFile) -> None:
        self._call("DELETE", self._path("dist", file.package, file.version, file.filename))

    def set_label(self, file: ChannelFile, label: str, *, present: bool) -> None:
        body = {"package": file.package, "version": file.version, "basename": file.filename}
        method = "POST" if present else "DELETE"
        self._call(method, self._path("channels", label), json=body)

    def copy_to(
        self, file: ChannelFile, other: AnacondaChannel, *, from_label: str, to_label: str
    ) -> None:
        """Server-side copy into another owner (a separate staging owner promoting to main)."""
        self._call(
            "POST",
            self._path("copy/package", file.package, file.version, file.filename),
            json={"to_owner": other.owner, "from_channel": from_label, "to_channel": to_label},
        )

    # protocol -----------------------------------------------------------------------------

    def _path(self, kind: str, *parts: str) -> str:
        quoted = "/".join(quote(p, safe="") for p in (self.owner, *parts))
        return f"/{kind}/{quoted}"

    def _find(self, name: str) -> dict[str, Any] | None:
        """The package answering to ``name`` in any of its spellings, asked in turn (one request
        when it has its PEP 503 name)."""
        for spelling in package_spellings(name):
            data = self._call("GET", self._path("package", spelling), missing_ok=True)
            if isinstance(data, dict):
                return {**data, "name": str(data.get("name") or spelling)}
        return None

    def _files(self, data: dict[str, Any]) -> list[ChannelFile]:
        name = str(data["name"])
        raw_files = data.get("files") or []
        return [
            self._file(name, raw)
            for raw in raw_files
            if isinstance(raw, dict) and raw.get("basename")
        ]

    def _file(self, package: str, raw: dict[str, Any]) -> ChannelFile:
        """A file as the API answers it: ``download_url`` is protocol-relative
        (``//api.anaconda.org/download/…``) and old files say ``"sha256": "None"``."""
        basename = str(raw["basename"]).rsplit("/", 1)[-1]
        version = str(raw.get("version", ""))
        url = str(raw.get("download_url") or "")
        if not url:  # where anaconda-client's Binstar.download asks
            url = self._path("download", package, version, basename).removeprefix("/")
        return ChannelFile(
            package=package,
            version=version,
            filename=basename,
            sha256=_hex(raw.get("sha256"), 64),
            md5=_hex(raw.get("md5"), 32),
            size=int(raw.get("size") or 0),
            labels=tuple(raw.get("labels") or ()),
            upload_time=str(raw.get("upload_time") or ""),
            provenance=Provenance.read(raw.get("attrs"), raw.get("description")),
            url=urljoin(self.api_url + "/", url),
        )

    def _ensure_package_and_release(self, wheel: Wheel) -> tuple[str, bool]:
        """The package's name as the server holds it, and whether anything was created."""
        created = False
        found = self._find(wheel.name)
        name = str(found["name"]) if found else wheel.project
        if found is None:
            self._call(
                "POST",
                self._path("package", name),
                json={
                    "public": True,
                    "publish": False,
                    "public_attrs": {
                        "name": name,
                        # A blank summary goes as " ", as pyodide-recipes sends it; the server
                        # takes it, "summary required" is anaconda-client's own check.
                        "summary": (wheel.summary or " ")[:200],
                        "license": {"name": wheel.license, "url": None, "family": None},
                        "package_types": ["pypi"],
                    },
                },
                conflict_ok=True,
            )
            created = True
        release = self._path("release", name, wheel.version)
        if self._call("GET", release, missing_ok=True) is None:
            body: dict[str, Any] = {
                "requirements": [],
                "announce": None,
                "description": "",
                "version": wheel.version,
                "home_page": None,
            }
            self._call("POST", release, json=body, conflict_ok=True)
            created = True
        return name, created

    def _drop_if_empty(self, name: str, version: str) -> None:
        """Undo what a failed upload created, as the official client does; best effort."""
        try:
            release = self._call("GET", self._path("release", name, version), missing_ok=True)
            if release is not None and not release.get("distributions"):
                self._call("DELETE", self._path("release", name, version), missing_ok=True)
            package = self._call("GET", self._path("package", name), missing_ok=True)
            if package is not None and not package.get("files"):
                self._call("DELETE", self._path("package", name), missing_ok=True)
        except (ChannelError, NetworkError):
            pass

    def _store(self, wheel: Wheel, staged: dict[str, Any]) -> None:
        """POST the bytes to storage (S3-style form, no token) on a fresh connection."""
        import requests

        data = wheel.path.read_bytes()
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324 - S3's Content-MD5
        fields = [(k, (None, str(v))) for k, v in (staged.get("form_data") or {}).items()]
        fields += [("Content-Length", (None, str(len(data)))), ("Content-MD5", (None, md5))]
        fields.append(("file", (wheel.filename, data)))  # type: ignore[arg-type]
        try:
            with requests.Session() as fresh:
                answer = fresh.post(staged["post_url"], files=fields, timeout=UPLOAD_TIMEOUT)
        except requests.RequestException as exc:
            raise NetworkError(
                f"upload of {wheel.filename} to storage failed: {reason(exc)}"
            ) from exc
        if answer.status_code != 201:
            code = _s3_code(answer.text)
            raise ChannelError(
                f"storage refused {wheel.filename}: HTTP {answer.status_code} {code}".strip(),
                file=wheel.path,
            )

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        missing_ok: bool = False,
        conflict_ok: bool = False,
    ) -> Any:
        """One API call, tried once unless it only reads (the shared session retries those)."""
        import requests

        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        url = self.api_url + path
        if self._token:
            if not token_may_go_to(url):  # open_channel refuses such a channel; never send it
                raise ChannelError(
                    f"refusing to send the token to {self.api_url} over plain http",
                    file=self.description,
                )
            headers["Authorization"] = f"token {self._token}"
        try:
            response = self._send(method, url, json=json, headers=headers)
        except requests.RequestException as exc:
            raise NetworkError(
                f"{method} {path} on {self.description} failed: {reason(exc)}"
            ) from exc
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code == 409 and conflict_ok:
            return {}
        if response.status_code >= 400:
            raise ChannelError(_explain(method, path, response, self.description))
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            return {}

    def _send(
        self, method: str, url: str, *, json: Any, headers: dict[str, str]
    ) -> requests.Response:
        """Send, following a redirect only for a read that stays on the API's origin.

        requests itself drops the Authorization header when a redirect changes the host, port or
        scheme, but keeps it (and re-sends a 307/308 POST with its body) within one origin; we
        follow nothing that writes, and nothing that leaves the origin while holding the token.
        """
        from smithy import http

        throttled = 0
        redirects = 0
        while redirects <= MAX_REDIRECTS:
            response = http.session().request(
                method, url, json=json, headers=headers, timeout=http.TIMEOUT, allow_redirects=False
            )
            # 429 says the server did not act (RFC 6585): a write may go again after the wait
            # it asks for (the session already did so for a read).
            if response.status_code == 429 and method not in READS:
                throttled += 1
                if throttled < THROTTLED_TRIES:
                    wait = http.retry_after(response, throttled)
                    response.close()
                    time.sleep(wait)
                    continue
            if not response.is_redirect:
                return response
            redirects += 1
            target = urljoin(url, response.headers["Location"])
            response.close()
            if method not in READS:
                why = "a call that writes is never redirected"
            elif "Authorization" in headers and not same_origin(url, target):
                why = f"the token stays on {self.api_url}"
            else:
                url = target
                continue
            raise ChannelError(
                f"{self.description}: {method} {url.removeprefix(self.api_url)} answered "
                f"HTTP {response.status_code}, a redirect to {target}: not followed, {why}"
            )
        raise ChannelError(f"{self.description}: more than {MAX_REDIRECTS} redirects")


def client_attrs(filename: str) -> dict[str, Any]:
    """A wheel's file attrs as anaconda-client makes them from its file name
    (``inspect_package/pypi.py``, inspect_pypi_package_whl): ``build_no`` 0 (a number) for a
    five-part name, the PEP 427 build tag as written (a string) for a six-part one, the python
    and abi tags as written. Split here as the client splits, not with smithy.platform, which
    expands compressed tags (``py2.py3``) the client sends as they are."""
    parts = filename.removesuffix(".whl").split("-")
    build_no: int | str = 0
    if len(parts) == 6:
        build_no = parts[2]
    python_version, abi = parts[-3], parts[-2]
    return {
        "build_no": build_no,
        "python_version": python_version,
        "abi": None if abi == "none" else abi,
        "packagetype": "bdist_wheel",
    }


def client_dependencies(requires_dist: tuple[str, ...]) -> dict[str, Any]:
    """``Requires-Dist`` in anaconda-client's shape (``format_sdist_header_metadata``): names
    lower-cased with ``-``, specs as ``[operator, version]``, extras and markers apart."""
    from packaging.requirements import InvalidRequirement, Requirement

    depends: list[dict[str, Any]] = []
    extras: dict[str, list[dict[str, Any]]] = {}
    environments: dict[str, list[dict[str, Any]]] = {}
    errors = False
    for line in requires_dist:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            errors = True
            continue
        name = re.sub(r"[._]", "-", req.name).lower()
        entry = {"name": name, "specs": _specs(line)}
        marker = " ".join(line.split(";", 1)[1].split()) if req.marker else ""  # as written
        extra = re.fullmatch(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if extra:
            extras.setdefault(extra.group(1), []).append(entry)
        elif marker:
            environments.setdefault(marker, []).append(entry)
        else:
            depends.append(entry)
    return {
        "has_dep_errors": errors,
        "depends": sorted(depends, key=lambda d: d["name"]),
        "extras": [{"name": k, "depends": v} for k, v in extras.items()],
        "environments": [{"name": k, "depends": v} for k, v in environments.items()],
    }


def _specs(line: str) -> list[list[str]]:
    """A requirement's version specs as written, ``[operator, version]`` each."""
    text = re.sub(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?", "", line.split(";", 1)[0])
    found = (
        re.fullmatch(r"\s*(~=|===|==|!=|<=|>=|<|>)\s*(\S+)\s*", p)
        for p in text.strip(" ()").split(",")
    )
    return [[m.group(1), m.group(2)] for m in found if m]


def _hex(value: Any, length: int) -> str:
    """A digest the API answered, or "" for what it does not know (``"None"``, null)."""
    text = str(value or "").lower()
    return text if re.fullmatch(f"[0-9a-f]{{{length}}}", text) else ""


def _explain(method: str, path: str, response: requests.Response, where: str) -> str:
    try:
        detail = str(response.json().get("error") or "")
    except (ValueError, AttributeError):
        detail = ""
    meaning = {
        401: "the token is missing, wrong or lacks the scope",
        404: "not found",
        409: "conflict",
    }
    reason = detail or meaning.get(response.status_code, response.reason or "")
    return f"{where}: {method} {path} answered HTTP {response.status_code}: {reason}"


def _s3_code(text: str) -> str:
    import re

    found = re.search(r"<Code>([^<]+)</Code>", text or "")
    return found.group(1) if found else ""
