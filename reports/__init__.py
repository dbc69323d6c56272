"""How to say it: one pure module per output format, each ``render(report) -> str``."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

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


def chunked_renderer(fmt: Format | str) -> Callable[..., Iterable[str]]:
    """The format's ``render`` as pieces of text that join to it: the JSON report's ``render_chunks`` (a large
    report need not exist as one string), any other format's whole text as one piece."""
    if getattr(fmt, "render", None) is None and Format(fmt) is Format.json:
        from . import json as json_report

        return json_report.render_chunks
    render = renderer(fmt)
    return lambda report, **options: [render(report, **options)]


__all__ = ["Format", "RenderError", "Report", "chunked_renderer", "renderer"]
