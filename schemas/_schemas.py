"""Loading the JSON Schemas and the OpenAPI document shipped in this package."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from typing import cast

import yaml
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from referencing import Registry
from referencing import Resource
from referencing.jsonschema import DRAFT202012

from schemas._errors import SchemasError
from schemas._errors import UnknownSchemaError

#: Base URI of every ``$id``; a schema's file name is its ``$id`` relative to this base.
BASE_URI = "https://cckit.dev/schemas/v1/"

#: Schema name -> component name used in ``openapi.yaml``.
SCHEMA_NAMES: dict[str, str] = {
    "token-response": "TokenResponse",
    "oauth-error": "OAuthError",
    "course": "Course",
    "course-list": "CourseList",
    "api-error": "ApiError",
}
OPENAPI_NAME = "openapi"
OPENAPI_FILE = "openapi.yaml"


def _file_name(name: str) -> str:
    if name == OPENAPI_NAME:
        return OPENAPI_FILE
    if name in SCHEMA_NAMES:
        return f"{name}.schema.json"
    raise UnknownSchemaError(name, (*SCHEMA_NAMES, OPENAPI_NAME))


@functools.cache
def _load_cached(name: str) -> dict[str, Any]:
    file_name = _file_name(name)
    text = resources.files("schemas").joinpath(file_name).read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) if name == OPENAPI_NAME else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SchemasError(f"schemas/{file_name}: not well formed: {exc}") from exc
    if not isinstance(doc, dict):
        raise SchemasError(f"schemas/{file_name}: top level is not an object")
    return doc


def load(name: str) -> dict[str, Any]:
    """Return a shipped schema document as a fresh dict.

    Args:
        name: ``"token-response"``, ``"oauth-error"``, ``"course"``, ``"course-list"``,
            ``"api-error"`` (the files ``<name>.schema.json``) or ``"openapi"``
            (``openapi.yaml``, unbundled: its components ``$ref`` the schema files).

    Returns:
        A deep copy, so callers may change it freely.

    Raises:
        UnknownSchemaError: ``name`` is not one of the above (a ``KeyError`` subclass).
    """
    return copy.deepcopy(_load_cached(name))


def schema_names() -> tuple[str, ...]:
    """Return the names of the JSON Schemas :func:`validator` accepts."""
    return tuple(SCHEMA_NAMES)


@functools.cache
def registry() -> Registry[Any]:
    """Return a :class:`referencing.Registry` holding every shipped JSON Schema by ``$id``.

    Cross-file references (``course-list`` -> ``course``) resolve from it offline.
    """
    resources_ = []
    for name in SCHEMA_NAMES:
        doc = _load_cached(name)
        resources_.append(
            (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012))
        )
    return Registry().with_resources(resources_)


@functools.cache
def validator(name: str) -> Validator:
    """Return the (cached) validator for one shipped JSON Schema.

    The validator is a :class:`jsonschema.Draft202012Validator` with format checking on
    (``date-time``, ``uri``) and the package's registry, so it never fetches anything.

    Args:
        name: One of :func:`schema_names`.

    Returns:
        A validator; use ``is_valid``, ``iter_errors`` or ``validate`` on it.

    Raises:
        UnknownSchemaError: ``name`` is not a JSON Schema of this package.
    """
    if name not in SCHEMA_NAMES:
        raise UnknownSchemaError(name, tuple(SCHEMA_NAMES))
    return Draft202012Validator(
        _load_cached(name),
        registry=registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _rewrite_refs(node: Any, own_component: str) -> Any:
    """Point a schema's ``$ref``s at ``#/components/schemas/...`` of the bundled document."""
    if isinstance(node, list):
        return [_rewrite_refs(item, own_component) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = _bundled_ref(value, own_component)
        else:
            out[key] = _rewrite_refs(value, own_component)
    return out


def _bundled_ref(ref: str, own_component: str) -> str:
    target, _, fragment = ref.partition("#")
    if target.startswith(BASE_URI):
        target = target[len(BASE_URI) :]
    if target.startswith("./"):
        target = target[2:]
    if not target:
        # A document-local pointer: inside an inlined schema it must be re-rooted under the
        # schema's component; elsewhere in the OpenAPI document it is already right.
        if not own_component:
            return ref
        component = own_component
    else:
        name = target.removesuffix(".schema.json")
        if name not in SCHEMA_NAMES or not target.endswith(".schema.json"):
            raise SchemasError(f"cannot bundle $ref {ref!r}: not a schema of this package")
        component = SCHEMA_NAMES[name]
    return f"#/components/schemas/{component}{fragment}"


@functools.cache
def _bundled() -> dict[str, Any]:
    # First point every file reference anywhere in the document at its component, then
    # replace each schema component (now a self-reference) by the schema itself.
    doc = cast(dict[str, Any], _rewrite_refs(_load_cached(OPENAPI_NAME), ""))
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, component in SCHEMA_NAMES.items():
        schema = {
            key: value
            for key, value in _load_cached(name).items()
            # $id would re-base the embedded refs; $schema is implied by OpenAPI 3.1's
            # jsonSchemaDialect. Both go so that every ref is a plain document pointer.
            if key not in ("$id", "$schema")
        }
        components[component] = _rewrite_refs(schema, component)
    return doc


def openapi_path() -> Path:
    """Return the file system path of ``openapi.yaml``.

    Tools that follow the document's relative ``$ref``s to the schema files need the path
    (or its ``file:`` URI) as base.

    Raises:
        SchemasError: The package is installed in a form without real files (a zip); use
            ``openapi_document(bundled=True)`` instead.
    """
    path = resources.files("schemas").joinpath(OPENAPI_FILE)
    if not isinstance(path, Path) or not path.is_file():
        raise SchemasError(
            "schemas is not installed as plain files; use openapi_document(bundled=True)"
        )
    return path


def openapi_document(*, bundled: bool = False) -> dict[str, Any]:
    """Return the OpenAPI 3.1 description of contract v1.

    Args:
        bundled: False returns ``openapi.yaml`` as shipped: its components ``$ref`` the JSON
            Schema files next to it (resolve them with the file's path as base URI, see
            :func:`openapi_path`). True returns a self-contained document with every JSON
            Schema inlined under ``components/schemas`` and every ``$ref`` a local pointer,
            for tools that do not follow file references.

    Returns:
        A fresh dict.
    """
    return copy.deepcopy(_bundled() if bundled else _load_cached(OPENAPI_NAME))
