"""HTML rendering: Jinja2 templates shipped with the package, figures embedded as JSON.

Assets come from installed packages only: Plotly's bundled ``plotly.min.js`` from the
``plotly`` package, the stylesheet and script from ``lifelong/dashboard/static``.

Examples
--------
>>> import plotly.graph_objects as go
>>> text = figure_json(go.Figure(layout={"title": {"text": "</script><b>"}}))
>>> "<" in text, ">" in text
(False, False)
>>> plotly_js_path().name
'plotly.min.js'
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup

_PACKAGE = "lifelong.dashboard"
STATIC_FILES = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}


def figure_json(figure: go.Figure) -> Markup:
    """The figure as JSON that is safe inside a ``<script type="application/json">``."""
    text = pio.to_json(figure, validate=False, pretty=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def plotly_js_path() -> Path:
    """Plotly's bundled, minified JavaScript inside the installed ``plotly`` package."""
    return Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))


def static_file(name: str) -> Traversable:
    """A file of ``lifelong/dashboard/static`` (only the names in :data:`STATIC_FILES`)."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    return resources.files(_PACKAGE).joinpath("static", name)


@lru_cache(maxsize=1)
def inline_assets() -> dict[str, Markup]:
    """Plotly's JS, the stylesheet and the script, as text to inline in a self-contained page."""
    plotly_js = plotly_js_path().read_text(encoding="utf-8").replace("</script", "<\\/script")
    return {
        "plotly_js": Markup(plotly_js),
        "css": Markup(static_file("dashboard.css").read_text(encoding="utf-8")),
        "js": Markup(static_file("dashboard.js").read_text(encoding="utf-8")),
    }


def _when(value: Any) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM UTC`` (text left as it is when it is not a time)."""
    if isinstance(value, datetime):
        stamp = value
    else:
        try:
            stamp = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def _number(value: Any, digits: int = 4) -> str:
    """A cell: floats rounded, mappings and lists as compact JSON, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, separators=(", ", ": "))
    return str(value)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The template environment (autoescaping on, undefined names are errors)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(_PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["num"] = _number
    env.filters["figure_json"] = figure_json
    return env


def render(template: str, **context: Any) -> str:
    """Render ``template`` with ``context``."""
    return environment().get_template(template).render(**context)


__all__ = [
    "STATIC_FILES",
    "environment",
    "figure_json",
    "inline_assets",
    "plotly_js_path",
    "render",
    "static_file",
]
