"""How to say it: one pure module per output format, each ``render(report) -> str``."""

from __future__ import annotations

import enum
from collections.abc import Callable

from auditor.report import Report


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


def renderer(fmt: Format | str) -> Callable[..., str]:
    fmt = Format(fmt)
    if fmt is Format.table:
        from . import table

        return table.render
    if fmt is Format.json:
        from . import json as json_report

        return json_report.render
    from . import sarif

    return sarif.render


__all__ = ["Format", "Report", "renderer"]
