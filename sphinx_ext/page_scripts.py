"""Every script once per page.

An extension that adds an inline script once the builder has started
(sphinx-thebe's configuration, sphinx-togglebutton's selector) reaches each
page's ``script_files`` twice under Sphinx 7.4: once with the file name None,
as added, and once with "", as the builder copies it from the registry when it
sets up its scripts again; the builder's own check sees two different scripts.
In the browser the second ``const THEBE_JS_URL`` is a SyntaxError on every
page. This drops the repeats, keeping the first of each.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _unique_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (
            script.filename or "",
            script.priority,
            tuple(sorted(script.attributes.items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    # late, after the theme and the extensions have added their page scripts
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
