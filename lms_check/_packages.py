"""Broken packages the scenarios serve: truncated, unsafe, incomplete, AICC-invalid."""

from __future__ import annotations

import io
import zipfile

from mock_vendor.packages import inject_aicc_defect


def truncated(data: bytes, fraction: float = 0.6) -> bytes:
    """The first ``fraction`` of the zip: no central directory, not a readable zip."""
    return data[: max(1, int(len(data) * fraction))]


def _rewrite(
    data: bytes, *, drop: str | None = None, extra: tuple[str, bytes] | None = None
) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if drop and info.filename.lower().endswith(drop):
                continue
            target.writestr(info, source.read(info))
        if extra is not None:
            target.writestr(zipfile.ZipInfo(extra[0]), extra[1])
    return out.getvalue()


def padded(data: bytes, size: int) -> bytes:
    """The package plus an incompressible filler file, about ``size`` bytes in all."""
    import os

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        filler = zipfile.ZipInfo("media/lms-check-filler.bin")
        target.writestr(filler, os.urandom(max(0, size - len(data))), zipfile.ZIP_STORED)
    return out.getvalue()


def with_unsafe_entry(data: bytes) -> bytes:
    """The package plus an entry whose name climbs out of the folder (``../``)."""
    return _rewrite(data, extra=("../lms-check-escape.txt", b"outside the content folder\n"))


def without_cst(data: bytes) -> bytes:
    """The package without its ``.cst`` file (one of the four required course files)."""
    return _rewrite(data, drop=".cst")


def aicc_invalid(data: bytes) -> bytes:
    """The package with an AICC error the ``aicc`` validator reports (Course_ID dropped)."""
    return inject_aicc_defect(data, 0)[0]


__all__ = ["aicc_invalid", "padded", "truncated", "with_unsafe_entry", "without_cst"]
