"""The state behind the Anaconda.org emulator: owners, tokens, packages, releases, files, labels.

Sources cited below (see also the fidelity ledger in docs/development.md):

- FIXTURE: a captured real answer of ``GET https://api.anaconda.org/package/main/pytest``,
  renovatebot/renovate ``lib/modules/datasource/conda/__fixtures__/pytest.json`` (commit
  3ad99e8560c23dc255f87aeec31424bfdfdd8952; its readme.md says where it came from).
- CLIENT: anaconda/anaconda-client at c1cafbc9c164763d2274b0fc6d10c49c2818d36d
  (``binstar_client/__init__.py`` and ``inspect_package/pypi.py`` are the same as in the 1.16.0
  the tests drive), ``commands/upload.py``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class ApiError(Exception):
    """An answer other than success: HTTP status and the ``{"error": ...}`` message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def normalize(name: str) -> str:
    """PEP 503 normalised project name (the index's lookup; the API never normalises)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def now() -> str:
    """An ``upload_time`` as the real API writes it: ``2020-02-28 11:46:01.948000+00:00``
    (FIXTURE: milliseconds, padded to microseconds, a space, ``+00:00``)."""
    moment = datetime.now(UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}000+00:00"


# The file attrs anaconda-client sends for a wheel (CLIENT inspect_package/pypi.py,
# inspect_pypi_package_whl): what a server that keeps only known attrs would keep.
CLIENT_WHEEL_ATTRS = frozenset({"build_no", "python_version", "abi", "packagetype"})
# What the store keeps of a file's attrs: "all" as sent; "flat" drops values that are objects
# (FIXTURE shows lists and scalars kept in attrs, never an object: no source says whether one
# survives); "known" keeps only anaconda-client's keys. Not settled by any source: switchable.
ATTRS_KEPT = ("all", "flat", "known")


def kept_attrs(attrs: dict[str, Any], policy: str) -> dict[str, Any]:
    if policy == "flat":
        return {k: v for k, v in attrs.items() if not isinstance(v, dict)}
    if policy == "known":
        return {k: v for k, v in attrs.items() if k in CLIENT_WHEEL_ATTRS}
    return dict(attrs)


@dataclass
class File:
    package: str
    version: str
    basename: str
    data: bytes
    labels: list[str]
    attrs: dict[str, Any]
    distribution_type: str = "pypi"
    description: str | None = None
    dependencies: Any = None
    upload_time: str = field(default_factory=now)
    # A legacy upload (FIXTURE: files of 2020 answer ``"sha256": "None"`` beside a real md5).
    sha256_recorded: bool = True
    md5_recorded: bool = True

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data).hexdigest()


@dataclass
class Release:
    version: str
    attrs: dict[str, Any]
    files: dict[str, File] = field(default_factory=dict)


@dataclass
class Package:
    name: str
    public: bool
    public_attrs: dict[str, Any]
    releases: dict[str, Release] = field(default_factory=dict)
    created_at: str = field(default_factory=now)


@dataclass
class Staged:
    """A file between ``/stage`` and ``/commit``; ``data`` is set once storage received it."""

    owner: str
    file: File
    sha256: str | None
    key: str
    data: bytes | None = None


def user_json(login: str) -> dict[str, Any]:
    """A user as FIXTURE's ``owner`` shows one (``created_at`` in the API's format)."""
    return {
        "login": login,
        "name": login,
        "user_type": "user",
        "created_at": "2020-01-01 00:00:00.000000+00:00",
        "company": "",
        "location": "",
        "url": "",
    }


def s3_error(code: str, message: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>EMULATOR</RequestId></Error>'


class Store:
    """All owners' packages; every method expects the caller to hold the emulator's lock."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        # Packages by name exactly as created: Anaconda.org keeps spellings apart
        # (``scipy_openblas64`` and ``scipy-openblas64`` are two packages: pypa/setuptools#4214,
        # anaconda/anaconda-client#704; scientific-python/upload-nightly-action#61 shows the
        # server refusing to *create* ``scipy_openblas64`` for a token that may write to the
        # existing ``scipy-openblas64``).
        self.owners: dict[str, dict[str, Package]] = {}
        self.tokens: dict[str, list[str]] = {}
        self.staged: dict[str, Staged] = {}
        self.attrs_kept = "all"

    # identities -------------------------------------------------------------------------------

    def add_owner(self, login: str, token: str) -> None:
        self.owners.setdefault(login, {})
        self.tokens.setdefault(token, []).append(login)

    def login_for(self, token: str | None) -> str:
        if not token or token not in self.tokens:
            raise ApiError(401, "Authentication token is missing or invalid")
        return self.tokens[token][0]

    def check_write(self, token: str | None, owner: str) -> None:
        self.login_for(token)
        self.packages_of(owner)
        if owner not in self.tokens[token or ""]:
            raise ApiError(401, f"this token may not write to {owner}")

    # lookups ----------------------------------------------------------------------------------

    def packages_of(self, owner: str) -> dict[str, Package]:
        if owner not in self.owners:
            raise ApiError(404, f"user {owner} does not exist")
        return self.owners[owner]

    def package(self, owner: str, name: str) -> Package:
        found = self.packages_of(owner).get(name)
        if found is None:
            raise ApiError(404, f"package {owner}/{name} does not exist")
        return found

    def release(self, owner: str, name: str, version: str) -> Release:
        found = self.package(owner, name).releases.get(version)
        if found is None:
            raise ApiError(404, f"release {owner}/{name}/{version} does not exist")
        return found

    def file(self, owner: str, name: str, version: str, basename: str) -> File:
        found = self.release(owner, name, version).files.get(basename)
        if found is None:
            raise ApiError(404, f"file {owner}/{name}/{version}/{basename} does not exist")
        return found

    def all_files(self, owner: str) -> list[File]:
        packages = self.packages_of(owner).values()
        return [f for p in packages for r in p.releases.values() for f in r.files.values()]

    # JSON views -------------------------------------------------------------------------------

    def file_json(self, owner: str, f: File) -> dict[str, Any]:
        """A file as FIXTURE shows one: a protocol-relative ``download_url``, the API's
        ``upload_time`` format, and ``"sha256": "None"`` for a legacy upload."""
        full_name = f"{owner}/{f.package}/{f.version}/{f.basename}"
        return {
            "description": f.description,
            "dependencies": f.dependencies,
            "distribution_type": f.distribution_type,
            "basename": f.basename,
            "attrs": dict(f.attrs),
            "upload_time": f.upload_time,
            "md5": f.md5 if f.md5_recorded else None,
            "sha256": f.sha256 if f.sha256_recorded else "None",
            "size": len(f.data),
            "full_name": full_name,
            "download_url": f"{self.api_url.split(':', 1)[1]}/download/{full_name}",
            "type": f.distribution_type,
            "version": f.version,
            "ndownloads": 0,
            "owner": owner,
            "labels": list(f.labels),
            "package": f.package,  # not in FIXTURE; binstar_client's tests here read it
        }

    def release_json(self, owner: str, p: Package, r: Release) -> dict[str, Any]:
        files = [self.file_json(owner, f) for f in r.files.values()]
        return {**r.attrs, "version": r.version, "package": p.name, "distributions": files}

    def package_json(self, owner: str, p: Package) -> dict[str, Any]:
        """FIXTURE's shape: ``license`` and ``license_url`` from the ``{name, url, family}``
        anaconda-client sends, releases listed with empty ``distributions``, every file."""
        attrs = p.public_attrs
        lic = attrs.get("license")
        lic = lic if isinstance(lic, dict) else {"name": lic}
        versions = list(p.releases)
        files = [f for r in p.releases.values() for f in r.files.values()]
        return {
            "name": p.name,
            "package_types": list(attrs.get("package_types") or []),
            "summary": attrs.get("summary"),
            "description": attrs.get("description"),
            "public": p.public,
            "owner": user_json(owner),
            "full_name": f"{owner}/{p.name}",
            "url": f"{self.api_url}/packages/{owner}/{p.name}",
            "versions": versions,
            "latest_version": versions[-1] if versions else None,
            "conda_platforms": [],
            "license": lic.get("name"),
            "license_url": lic.get("url"),
            "builds": [],
            "releases": [
                {"version": r.version, "distributions": [], "full_name": f"{owner}/{p.name}/{v}"}
                for v, r in p.releases.items()
            ],
            "created_at": p.created_at,
            "modified_at": max((f.upload_time for f in files), default=p.created_at),
            "files": [self.file_json(owner, f) for f in files],
        }

    # writes -----------------------------------------------------------------------------------

    def create_package(self, owner: str, name: str, body: dict[str, Any]) -> Package:
        attrs = body.get("public_attrs")
        # A blank summary is taken: pyodide-recipes uploads every wheel with anaconda-client's
        # ``--summary=" "`` (pyodide/pyodide-recipes .github/workflows/build.yml, commit
        # 9074cc416ea326e90671f5d8e14c1bfd53adff85), and "summary required" is the client's own
        # check (CLIENT commands/upload.py, Uploader.get_package: only ``None`` is refused). No
        # source says what the server does with no summary at all: refused here, the stricter
        # answer; pyodide-smithy never sends one.
        if not isinstance(attrs, dict) or not isinstance(attrs.get("summary"), str):
            raise ApiError(400, "public_attrs.summary is required")
        packages = self.packages_of(owner)
        if name in packages:
            raise ApiError(409, f"package {owner}/{name} already exists")
        package = Package(name, bool(body.get("public", True)), dict(attrs))
        packages[name] = package
        return package

    def create_release(self, owner: str, name: str, version: str, body: dict[str, Any]) -> Release:
        package = self.package(owner, name)
        if version in package.releases:
            raise ApiError(409, f"release {owner}/{name}/{version} already exists")
        release = Release(version, {k: v for k, v in body.items() if k != "version"})
        package.releases[version] = release
        return release

    def stage(
        self, owner: str, name: str, version: str, basename: str, body: dict[str, Any]
    ) -> Staged:
        """A distribution of a release is known by its basename and nothing else.

        Build tags (PEP 427), from CLIENT: a wheel's release is METADATA ``Version`` and its
        basename the file name as given (``inspect_package/pypi.py``
        ``format_sdist_header_metadata``; ``commands/upload.py`` ``Uploader.upload_package``
        rebuilds basenames of conda packages only), so ``x-1.0-0-….whl`` and ``x-1.0-1-….whl``
        are two distributions of release 1.0: a new build goes in beside the old one, no
        conflict. The client looks only for that basename before staging
        (``Uploader._check_file``: ``GET /dist/…/{basename}``, then ``errors.Conflict(…, 409)``
        "file … already exists"), and so does this store: the same basename again is a 409.
        ``attrs.build_no`` is what the client sends (``inspect_pypi_package_whl``: 0, an int,
        for a five-part name, the build tag as a string for a six-part one), kept as sent.
        """
        package = self.package(owner, name)
        if basename in self.release(owner, name, version).files:
            raise ApiError(409, f"file {basename} already exists for {owner}/{name}/{version}")
        dist_id = uuid.uuid4().hex
        labels = [str(label) for label in body.get("channels") or []] or ["main"]
        attrs = kept_attrs(dict(body.get("attrs") or {}), self.attrs_kept)
        new = File(package.name, version, basename, b"", labels, attrs)
        new.distribution_type = str(body.get("distribution_type") or "pypi")
        new.description, new.dependencies = body.get("description"), body.get("dependencies")
        staged = Staged(owner, new, body.get("sha256"), f"{owner}/{dist_id}/{basename}")
        self.staged[dist_id] = staged
        return staged

    def receive(self, fields: dict[str, bytes], data: bytes) -> str | None:
        """Storage side of an upload; an S3 XML error, or None when the bytes were kept."""
        key = fields.get("key", b"").decode()
        staged = next((s for s in self.staged.values() if s.key == key), None)
        if staged is None:
            return s3_error("AccessDenied", "Invalid according to Policy: unknown key")
        if "Content-MD5" in fields:
            digest = base64.b64encode(hashlib.md5(data).digest())
            if fields["Content-MD5"].strip() != digest:
                return s3_error("InvalidDigest", "The Content-MD5 you specified was invalid.")
        staged.data = data
        return None

    def commit(self, owner: str, name: str, version: str, basename: str, dist_id: str) -> File:
        staged = self.staged.get(dist_id)
        f = staged.file if staged else None
        if (
            staged is None
            or f is None
            or (staged.owner, f.version, f.basename) != (owner, version, basename)
        ):
            raise ApiError(
                404, f"no staged upload {dist_id} for {owner}/{name}/{version}/{basename}"
            )
        if staged.data is None:
            raise ApiError(400, "the file was not uploaded to storage")
        if staged.sha256 is not None and staged.sha256 != hashlib.sha256(staged.data).hexdigest():
            raise ApiError(400, "sha256 of the uploaded file does not match the staged sha256")
        release = self.release(owner, name, version)
        if basename in release.files:
            raise ApiError(409, f"file {basename} already exists for {owner}/{name}/{version}")
        f.data, f.upload_time = staged.data, now()
        release.files[basename] = f
        del self.staged[dist_id]
        return f

    def delete_file(
        self, owner: str, name: str, version: str, basename: str, empties: bool
    ) -> File:
        package = self.package(owner, name)
        release = self.release(owner, name, version)
        removed = self.file(owner, name, version, basename)
        del release.files[basename]
        if empties and not release.files:
            del package.releases[version]
            if not package.releases:
                del self.owners[owner][package.name]
        return removed

    def seed_legacy(
        self,
        owner: str,
        name: str,
        version: str,
        basename: str,
        data: bytes,
        *,
        labels: list[str],
        attrs: dict[str, Any],
        md5: bool = True,
        description: str | None = None,
    ) -> File:
        """A file as an old upload left it: no sha256 recorded (FIXTURE), md5 recorded unless
        ``md5=False`` (no source shows a file without one: a what-if the product tolerates)."""
        package = self.packages_of(owner).setdefault(
            name, Package(name, True, {"summary": " ", "package_types": ["pypi"]})
        )
        release = package.releases.setdefault(version, Release(version, {}))
        legacy = File(name, version, basename, data, list(labels), dict(attrs))
        legacy.sha256_recorded, legacy.md5_recorded = False, md5
        legacy.description = description
        legacy.upload_time = "2020-02-28 11:46:01.948000+00:00"  # FIXTURE's first file
        release.files[basename] = legacy
        return legacy

    def copy(
        self, owner: str, name: str, version: str, basename: str, *, body: dict[str, Any], mode: str
    ) -> list[File]:
        """``mode``: POST (409 on conflict), PUT (replace), PATCH (update labels)."""
        from_label = str(body.get("from_channel") or "main")
        to_label = str(body.get("to_channel") or "main")
        to_owner = str(body.get("to_owner") or owner)
        release = self.release(owner, name, version)
        files = list(release.files.values())
        sources = [self.file(owner, name, version, basename)] if basename else files
        sources = [f for f in sources if from_label in f.labels]
        if not sources:
            raise ApiError(404, f"nothing labelled {from_label} in {owner}/{name}/{version}")
        package = self.package(owner, name)
        dest_packages = self.packages_of(to_owner)
        dest_package = dest_packages.setdefault(
            package.name, Package(package.name, package.public, dict(package.public_attrs))
        )
        dest_release = dest_package.releases.setdefault(
            version, Release(version, dict(release.attrs))
        )
        copied = []
        for src in sources:
            dest = dest_release.files.get(src.basename)
            if (
                dest is not None
                and mode == "POST"
                and (to_owner != owner or to_label in dest.labels)
            ):
                raise ApiError(
                    409, f"{to_owner}/{name}/{version}/{src.basename} exists in {to_label}"
                )
            if dest is None or (mode == "PUT" and dest is not src):
                dest = File(**{**vars(src), "labels": [], "attrs": dict(src.attrs)})
                dest_release.files[src.basename] = dest
            if to_label not in dest.labels:
                dest.labels.append(to_label)
            copied.append(dest)
        return copied

    def set_label(self, owner: str, label: str, body: dict[str, Any], add: bool) -> int:
        """Add or remove ``label`` on the files the body selects; how many matched."""
        name, version, basename = body.get("package"), body.get("version"), body.get("basename")
        matched = [
            f
            for f in self.all_files(owner)
            if (name is None or f.package == str(name))
            and (version is None or f.version == version)
            and (basename is None or f.basename == basename)
        ]
        if not matched:
            raise ApiError(404, "no file matches")
        for f in matched:
            if add and label not in f.labels:
                f.labels.append(label)
            elif not add and label in f.labels:
                f.labels.remove(label)
        return len(matched)

    def channels(self, owner: str) -> dict[str, dict[str, Any]]:
        counts: dict[str, int] = {}
        for f in self.all_files(owner):
            for label in f.labels:
                counts[label] = counts.get(label, 0) + 1
        return {label: {"num_files": n, "is_locked": False} for label, n in sorted(counts.items())}
