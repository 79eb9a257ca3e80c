"""Jinja2 templates shipped in ``eli5_keras/templates`` (HTML escaped automatically)."""
from __future__ import annotations

import functools
import html
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["eli5_escape", "render", "render_page", "stylesheet"]


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("eli5_keras", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["eli5_escape"] = eli5_escape
    return environment


def eli5_escape(value: Any) -> Markup:
    """``value`` escaped as eli5 escapes text (Python's ``html.escape``: ``&quot;``, ``&#x27;``).

    The text formatter's templates use it so that their HTML stays eli5's byte for byte;
    autoescaping (``&#34;``, ``&#39;``) escapes every other value.
    """
    return Markup(html.escape(str(value)))


def render(name: str, **context: Any) -> Markup:
    """Render template ``name`` with ``context``; the result is safe to nest in other templates."""
    return Markup(_environment().get_template(name).render(**context))


def render_page(name: str, **context: Any) -> str:
    """A whole page: template ``name``, which extends ``_page.html`` (the CSS inline, and a
    Content-Security-Policy that lets the page load nothing but its own ``data:`` pictures).

    ``context`` holds the page's ``title``, its ``heading`` and what template ``name`` shows.
    """
    from .. import __version__  # the package's __init__ imports the formatters

    return str(render(name, css=stylesheet(), version=__version__, **context))


def stylesheet() -> Markup:
    """The CSS of every page and fragment (``templates/style.css``), for an inline ``<style>``."""
    return Markup(_environment().loader.get_source(_environment(), "style.css")[0])
