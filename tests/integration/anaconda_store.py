"""The state behind the Anaconda.org emulator: owners, tokens, packages, releases, files, labels."""

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
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


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


def s3_error(code: str, message: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>EMULATOR</RequestId></Error>'


class Store:
    """All owners' packages; every method expects the caller to hold the emulator's lock."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.owners: dict[str, dict[str, Package]] = {}
        self.tokens: dict[str, list[str]] = {}
        self.staged: dict[str, Staged] = {}

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
        found = self.packages_of(owner).get(normalize(name))
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
        full_name = f"{owner}/{f.package}/{f.version}/{f.basename}"
        return {
            "basename": f.basename,
            "version": f.version,
            "package": f.package,
            "owner": owner,
            "labels": list(f.labels),
            "sha256": f.sha256,
            "md5": hashlib.md5(f.data).hexdigest(),
            "size": len(f.data),
            "upload_time": f.upload_time,
            "attrs": dict(f.attrs),
            "distribution_type": f.distribution_type,
            "type": f.distribution_type,
            "description": f.description,
            "dependencies": f.dependencies,
            "download_url": f"{self.api_url}/download/{full_name}",
            "full_name": full_name,
            "ndownloads": 0,
        }

    def release_json(self, owner: str, p: Package, r: Release) -> dict[str, Any]:
        files = [self.file_json(owner, f) for f in r.files.values()]
        return {**r.attrs, "version": r.version, "package": p.name, "distributions": files}

    def package_json(self, owner: str, p: Package) -> dict[str, Any]:
        attrs = p.public_attrs
        lic = attrs.get("license")
        versions = list(p.releases)
        return {
            "name": p.name,
            "full_name": f"{owner}/{p.name}",
            "owner": {"login": owner},
            "summary": attrs.get("summary"),
            "license": lic.get("name") if isinstance(lic, dict) else lic,
            "public": p.public,
            "public_attrs": dict(attrs),
            "package_types": list(attrs.get("package_types") or []),
            "versions": versions,
            "latest_version": versions[-1] if versions else None,
            "releases": [
                {"version": r.version, "distributions": list(r.files)} for r in p.releases.values()
            ],
            "files": [
                self.file_json(owner, f) for r in p.releases.values() for f in r.files.values()
            ],
            "created_at": p.created_at,
            "conda_platforms": [],
            "builds": [],
        }

    # writes -----------------------------------------------------------------------------------

    def create_package(self, owner: str, name: str, body: dict[str, Any]) -> Package:
        attrs = body.get("public_attrs")
        if not isinstance(attrs, dict) or not attrs.get("summary"):
            raise ApiError(400, "public_attrs.summary is required")
        packages = self.packages_of(owner)
        if normalize(name) in packages:
            raise ApiError(409, f"package {owner}/{name} already exists")
        package = Package(name, bool(body.get("public", True)), dict(attrs))
        packages[normalize(name)] = package
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
        package = self.package(owner, name)
        if basename in self.release(owner, name, version).files:
            raise ApiError(409, f"file {basename} already exists for {owner}/{name}/{version}")
        dist_id = uuid.uuid4().hex
        labels = [str(label) for label in body.get("channels") or []] or ["main"]
        new = File(package.name, version, basename, b"", labels, dict(body.get("attrs") or {}))
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
                del self.owners[owner][normalize(name)]
        return removed

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
            normalize(name), Package(package.name, package.public, dict(package.public_attrs))
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
            if (name is None or normalize(f.package) == normalize(str(name)))
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
