"""Jinja2 templates shipped in ``eli5_keras/templates`` (HTML escaped automatically)."""
from __future__ import annotations

import functools
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["render", "stylesheet"]


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("eli5_keras", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render(name: str, **context: Any) -> Markup:
    """Render template ``name`` with ``context``; the result is safe to nest in other templates."""
    return Markup(_environment().get_template(name).render(**context))


def stylesheet() -> Markup:
    """The CSS of every page and fragment (``templates/style.css``), for an inline ``<style>``."""
    return Markup(_environment().loader.get_source(_environment(), "style.css")[0])
