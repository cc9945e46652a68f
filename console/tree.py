"""The AICC structure of a published version as nested HTML lists.

Built in Python rather than by a recursive template: a 10,000-AU package renders in a
few milliseconds, and the result is kept per published version (whose folder, and so
whose tree, never changes), so the course page of a large course stays fast.
"""

from __future__ import annotations

import functools
import urllib.parse
from pathlib import Path
from typing import Any

from markupsafe import Markup
from markupsafe import escape

from connector import catalog_query
from console.text import visible

#: Blocks shown open: the root and its direct members; deeper blocks start folded.
OPEN_DEPTH = 1


def _label(node: dict[str, Any], preview_base: str) -> str:
    parts = [
        f'<span class="kind">{escape(node["kind"])}</span> ',
        f'<span class="mono">{visible(node["id"])}</span> {visible(node["title"])}',
    ]
    launch = node["launch"]
    if node["kind"] == "au" and launch:
        if node["launch_found"]:
            href = preview_base + urllib.parse.quote(launch.lstrip("./"))
            parts.append(
                f' <a class="launch" href="{escape(href)}" target="preview">{visible(launch)}</a>'
            )
        else:
            parts.append(
                f' <span class="mono muted">{visible(launch)}</span>'
                ' <span class="badge warn">not in the package</span>'
            )
    return "".join(parts)


def render(root: dict[str, Any], preview_base: str) -> Markup:
    """``<ul class="tree">`` of ``root`` (a node of :func:`connector.catalog_query.
    course_structure`); launch files link to ``preview_base`` + their path."""
    out: list[str] = ['<ul class="tree" id="tree">']
    # An explicit stack: a deeply nested (even cyclic-looking) structure cannot recurse.
    stack: list[tuple[dict[str, Any] | str, int]] = [(root, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        kids = item["children"]
        out.append(f'<li class="node-{escape(item["kind"])}">')
        if not kids:
            out.append(_label(item, preview_base) + "</li>")
            continue
        opened = " open" if depth <= OPEN_DEPTH else ""
        out.append(f"<details{opened}><summary>{_label(item, preview_base)}</summary><ul>")
        stack.append(("</ul></details></li>", depth))
        stack.extend((kid, depth + 1) for kid in reversed(kids))
    out.append("</ul>")
    return Markup("".join(out))  # noqa: S704 - every vendor value above is escaped


@functools.lru_cache(maxsize=16)
def structure_html(folder: str, preview_base: str) -> tuple[tuple[dict[str, Any], Markup], ...]:
    """Each course file set of the version in ``folder``: its summary and its tree."""
    result = []
    for tree in catalog_query.course_structure(Path(folder)):
        summary = {k: v for k, v in tree.items() if k != "root"}
        html = render(tree["root"], preview_base) if tree["root"] else Markup("")
        result.append((summary, html))
    return tuple(result)


__all__ = ["render", "structure_html"]
