"""Jinja2 templates and the CSS of the HTML formatters (package data, read by formatters.templating)."""
