"""Building tenant catalogs: generated from a seed, or read from a folder of AICC zips."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
import zipfile
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import Protocol

import aicc
from mock_vendor import _generate
from mock_vendor.clock import MockClock
from mock_vendor.clock import parse_instant
from mock_vendor.errors import CatalogError
from mock_vendor.errors import ConfigError
from mock_vendor.model import COURSE_FIELDS
from mock_vendor.model import Package
from mock_vendor.model import Rebuild
from mock_vendor.model import Tenant
from mock_vendor.model import loads
from schemas import ID_RE


class CatalogContext(Protocol):
    """What building a catalog reads of :class:`mock_vendor.state.VendorState`.

    A protocol, so that this module needs nothing of the state module (which imports it).
    """

    @property
    def config(self) -> Mapping[str, Any]:
        """The app config."""

    @property
    def clock(self) -> MockClock:
        """The mock clock."""

    @property
    def cache_dir(self) -> Path:
        """Where packages are cached."""


def build_catalog(spec: dict[str, Any], state: CatalogContext) -> Tenant:
    """Build the tenant described by ``spec`` (from ``VendorState.tenant_specs``)."""
    if spec.get("catalog"):
        return load_folder(spec, Path(spec["catalog"]), state)
    return generate(spec, state)


def _int(spec: dict[str, Any], key: str, minimum: int) -> int:
    try:
        value = int(spec[key])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: {spec[key]!r} is not an integer") from exc
    if value < minimum:
        raise ConfigError(f"{key}: {value} must be at least {minimum}")
    return value


def generate(spec: dict[str, Any], state: CatalogContext) -> Tenant:
    """A deterministic generated catalog (``courses`` courses from ``seed``)."""
    count = _int(spec, "courses", 0)
    seed = _int(spec, "seed", 0)
    max_asset = _int(dict(state.config), "MAX_ASSET_BYTES", 2_000)
    tenant = Tenant(
        spec["client_id"], spec["client_secret"], f"generated: {count} courses, seed {seed}"
    )
    now = state.clock.now()
    directory = state.cache_dir / "generated"
    for index in range(count):
        generated = _generate.generate_course(seed, index, max_asset_bytes=max_asset)

        def rebuild(
            revision: int,
            meta: dict[str, Any],
            generated: _generate.GeneratedCourse = generated,
        ) -> Package:
            texts = (str(meta.get("Title", "")), str(meta.get("Description", "")))
            variant = generated
            suffix = ""
            if texts != (generated.meta["Title"], generated.meta["Description"]):
                # Renamed through the admin API: the CRS follows the new title (AICC-002).
                variant = dataclasses.replace(
                    generated, meta={**generated.meta, "Title": texts[0], "Description": texts[1]}
                )
                suffix = "-t" + hashlib.sha256("\0".join(texts).encode()).hexdigest()[:12]
            name = (
                f"v{_generate.GENERATOR_VERSION}-s{seed}-i{generated.index}"
                f"-a{max_asset}-r{revision}{suffix}.zip"
            )
            return Package(
                directory / name,
                lambda: _generate.build_generated_package(seed, variant, revision),
            )

        tenant.add(
            generated.course_id,
            dict(generated.meta),
            min(generated.last_modified, now),
            min(generated.package_last_modified, now),
            rebuild(0, generated.meta),
            rebuild,
        )
    return tenant


def admin_rebuild(state: CatalogContext, course_id: str) -> Rebuild:
    """A ``rebuild(revision, meta) -> Package`` for a course added through the admin API.

    The package is a one-lesson level-1 AICC course whose CRS title is the course Title.
    """

    def rebuild(revision: int, meta: dict[str, Any]) -> Package:
        title = str(meta.get("Title", course_id))
        description = str(meta.get("Description", ""))
        rng = random.Random(f"cckit-mock-admin:{course_id}:{revision}")
        course = _generate.build_course_model(course_id, title, description, "1", 1, rng)
        data = aicc.write_zip(
            course,
            extra_files={
                "lesson1/index.html": _generate._lesson_html(title, 1),
                "media/revision.txt": f"revision {revision}\n".encode(),
            },
        )
        return Package.from_bytes(data, state.cache_dir / "uploads")

    return rebuild


# ---------------------------------------------------------------------- folder catalogs


def _sanitize_id(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", text.strip()).strip("-_")[:50]
    return cleaned


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(int(path.stat().st_mtime), tz=UTC)


def _read_sidecar(path: Path) -> dict[str, Any]:
    sidecar = path.with_suffix(".json")
    if not sidecar.exists():
        return {}
    try:
        data = loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError, NotJSONError
        raise CatalogError(f"{sidecar}: not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{sidecar}: expected a JSON object with course fields")
    unknown = set(data) - {*COURSE_FIELDS, "ID", "LastModifiedUTC", "PackageLastModifiedUTC"}
    if unknown:
        raise CatalogError(f"{sidecar}: unknown field(s) {', '.join(sorted(unknown))}")
    return data


def load_folder(spec: dict[str, Any], folder: Path, state: CatalogContext) -> Tenant:
    """A catalog made of every ``*.zip`` in ``folder``.

    Metadata comes from each zip's CRS (``Course_ID``, ``Course_Title``,
    ``[Course_Description]``); a sidecar ``<name>.json`` next to the zip may set any course
    field (``ID``, ``Title``, ``Languages``, ``IsActive``, ...). Stamps default to the
    zip's modification time.

    Raises:
        CatalogError: The folder is missing, a zip is unreadable, a sidecar is bad, or
            two packages end up with the same ID.
    """
    if not folder.is_dir():
        raise CatalogError(f"catalog folder {folder} does not exist or is not a folder")
    tenant = Tenant(spec["client_id"], spec["client_secret"], f"folder: {folder}")
    now = state.clock.now()
    zips = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".zip" and p.is_file())
    for path in zips:
        course = _read_course(path)
        sidecar = _read_sidecar(path)
        course_id = _folder_course_id(path, course, sidecar)
        if course_id in tenant.by_id:
            raise CatalogError(f"{path}: course ID {course_id!r} is used by another package")
        title = (course.course_title if course else "").strip() or path.stem
        meta: dict[str, Any] = {
            "Title": title[:255],
            "Description": (course.description if course else "")[:10000],
            "IsActive": True,
            "Languages": ["en-US"],
        }
        meta.update({k: v for k, v in sidecar.items() if k in COURSE_FIELDS})
        stamp = min(_mtime(path), now)
        last_modified = _sidecar_instant(path, sidecar, "LastModifiedUTC", stamp)
        package_modified = _sidecar_instant(path, sidecar, "PackageLastModifiedUTC", stamp)
        tenant.add(course_id, meta, last_modified, package_modified, Package(path))
    return tenant


def _read_course(path: Path) -> aicc.Course | None:
    """The first course of the AICC zip at ``path`` (``None`` if it holds none)."""
    if not zipfile.is_zipfile(path):
        raise CatalogError(f"{path}: not a zip archive")
    try:
        report = aicc.read(path)
    except aicc.AiccError as exc:
        raise CatalogError(f"{path}: cannot be read: {exc}") from exc
    return report.courses[0] if report.courses else None


def _folder_course_id(path: Path, course: aicc.Course | None, sidecar: dict[str, Any]) -> str:
    """The sidecar's ID, else the CRS Course_ID, else the file name, made contract-safe."""
    course_id = str(
        sidecar.get("ID")
        or _sanitize_id(course.course_id if course and course.course_id else "")
        or _sanitize_id(path.stem)
    )
    if not ID_RE.match(course_id):
        raise CatalogError(
            f"{path}: course ID {course_id!r} does not match the contract's ID pattern; "
            "set ID in the sidecar JSON"
        )
    return course_id


def _sidecar_instant(path: Path, sidecar: dict[str, Any], key: str, default: datetime) -> datetime:
    """The sidecar's RFC 3339 ``key``, or ``default`` when the sidecar does not set it."""
    if key not in sidecar:
        return default
    try:
        return parse_instant(sidecar[key], field=f"{path}: {key}")
    except ConfigError as exc:
        raise CatalogError(str(exc)) from exc
