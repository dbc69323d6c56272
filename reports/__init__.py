"""How to say it: one pure module per output format, each ``render(report) -> str``."""

from __future__ import annotations

import enum
from collections.abc import Callable

from auditor.report import Report


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"
    markdown = "markdown"


class RenderError(ValueError):
    """The report cannot be written in this form (a usage error, exit 2): GitHub's SARIF limits, a query
    that does not apply to this report."""


def renderer(fmt: Format | str) -> Callable[..., str]:
    """The ``render(report, **options) -> str`` of a format; an object with its own ``render`` (such as
    :class:`auditor.reports.json.Query`) is its own renderer."""
    own = getattr(fmt, "render", None)
    if own is not None:
        return own
    fmt = Format(fmt)
    if fmt is Format.table:
        from . import table

        return table.render
    if fmt is Format.json:
        from . import json as json_report

        return json_report.render
    if fmt is Format.markdown:
        from . import markdown

        return markdown.render
    from . import sarif

    return sarif.render


__all__ = ["Format", "RenderError", "Report", "renderer"]
