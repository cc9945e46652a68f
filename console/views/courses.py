"""The course page: metadata, protection, (de)activation, versions, tree, preview."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for
from werkzeug.security import safe_join
from werkzeug.wrappers import Response as BaseResponse

from connector import catalog
from connector import catalog_query
from console import tree
from console.app import state

bp = Blueprint("courses", __name__)


@bp.get("/courses/<int:pk>")
def show(pk: int) -> str:
    console = state(current_app)
    course = catalog_query.course_detail(console.engine, pk)
    package = course["current_package"]
    trees: tuple[Any, ...] = ()
    folder = None
    if package is not None:
        folder = catalog_query.content_root(console.settings.content_dir, package["stored_path"])
        if folder is not None:
            base = url_for("courses.preview", pk=pk, sha256=package["sha256"], file="x")[:-1]
            trees = tree.structure_html(str(folder), base)
    return render_template(
        "course.html", course=course, package=package, trees=trees, content_found=bool(folder)
    )


@bp.post("/courses/<int:pk>/active")
def set_active(pk: int) -> BaseResponse:
    console = state(current_app)
    integration, vendor_id = catalog_query.course_ref(console.engine, pk)
    active = request.form.get("active") == "yes"
    catalog.set_active(console.engine, vendor_id, active, integration=integration)
    flash(f"Course {vendor_id} {'reactivated' if active else 'deactivated'}.")
    return redirect(url_for("courses.show", pk=pk))


@bp.post("/courses/<int:pk>/protect")
def protect(pk: int) -> BaseResponse:
    console = state(current_app)
    integration, vendor_id = catalog_query.course_ref(console.engine, pk)
    field = catalog.normalise_field(request.form.get("field", ""))
    protected = request.form.get("protected") == "yes"
    catalog.protect(
        console.engine, vendor_id, [field], protected=protected, integration=integration
    )
    flash(f"{field} is {'now protected' if protected else 'no longer protected'}.")
    return redirect(url_for("courses.show", pk=pk))


@bp.get("/courses/<int:pk>/preview/<sha256>/<path:file>")
def preview(pk: int, sha256: str, file: str) -> BaseResponse:
    """Serve a file of a published version, under the sandboxing preview policy.

    Only files inside the version's extracted folder are served: ``..``, absolute paths
    and symbolic links that leave the folder are refused with 404.
    """
    console = state(current_app)
    course = catalog_query.course_detail(console.engine, pk)
    version = next((v for v in course["package_versions"] if v["sha256"] == sha256), None)
    if version is None:
        abort(404, "no such package version")
    root = catalog_query.content_root(console.settings.content_dir, version["stored_path"])
    if root is None:
        abort(404, "the content of this version is not on disk")
    joined = safe_join(str(root), file)
    if joined is None:
        abort(404, "no such file in the package")
    path = Path(joined).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        abort(404, "no such file in the package")
    g.preview = True
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return send_file(path, mimetype=mimetype, conditional=True, max_age=0)
