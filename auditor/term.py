"""How auditor writes for a person: how wide, whether in colour, and text laid out so colour never moves it.

Every human-readable output (the scan report, ``checks``, ``explain``, ``policy explain``) is laid out here
as plain lines first, with styles as spans over them; colour is applied last, or not at all, so the text a
person sees and copies is the same either way. Lines are never padded at the end, and a word — a check id,
a rule code, a resource id, an ARN, a CLI command's argument — is never split across lines: a word longer
than the line is left whole (the terminal soft-wraps it, and copying it gives it back in one piece).

Width: ``COLUMNS`` when set, else the terminal's width, else :data:`PIPE_WIDTH`. Colour (``--color auto``,
the default): off when ``NO_COLOR`` is set (https://no-color.org), on when ``FORCE_COLOR`` is set, off on
``TERM=dumb``, else on only for a terminal. ``--color always|never`` overrides them all.
"""

from __future__ import annotations

import enum
import os
import shutil
import sys
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO

from rich.color import ColorSystem
from rich.style import Style

#: Width of output that does not go to a terminal (a pipe, a file, CI logs) when ``COLUMNS`` is not set.
PIPE_WIDTH = 100
#: Narrowest layout auditor will attempt; narrower requests are laid out at this width.
MIN_WIDTH = 40


class ColorChoice(enum.StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


COLOR_HELP = ("Colour: auto (a terminal, unless NO_COLOR is set or TERM=dumb; FORCE_COLOR forces it), always or "
              "never. The layout is the same either way.")

#: The choice of the current command line (``--color``); ``auto`` until a command sets it.
_choice = ColorChoice.auto


def set_color_choice(choice: ColorChoice | str | None) -> None:
    global _choice
    if choice is not None:
        _choice = ColorChoice(choice)


def color_choice() -> ColorChoice:
    return _choice


def stderr_console():
    """A rich console for messages on stderr that follows ``--color`` (rich itself honours NO_COLOR,
    FORCE_COLOR and TERM=dumb under ``auto``)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, force_terminal=True if _choice is ColorChoice.always else None,
                   color_system=None if _choice is ColorChoice.never else "auto")


def wants_color(stream: IO | None = None, *, choice: ColorChoice | str | None = None,
                environ: Mapping[str, str] | None = None) -> bool:
    """Whether to colour what goes to ``stream`` (default: stdout), following the conventions above."""
    choice = ColorChoice(choice or _choice)
    if choice is not ColorChoice.auto:
        return choice is ColorChoice.always
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM", "").lower() in ("dumb", "unknown"):
        return False
    return _isatty(stream or sys.stdout)


def width_for(stream: IO | None = None, *, environ: Mapping[str, str] | None = None) -> int:
    """Columns to lay out for: ``COLUMNS``, else the terminal's width, else :data:`PIPE_WIDTH`."""
    env = os.environ if environ is None else environ
    columns = env.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(MIN_WIDTH, int(columns))
    stream = stream or sys.stdout
    if _isatty(stream):
        try:
            return max(MIN_WIDTH, os.get_terminal_size(stream.fileno()).columns)
        except (OSError, ValueError, AttributeError):
            return max(MIN_WIDTH, shutil.get_terminal_size((PIPE_WIDTH, 24)).columns)
    return PIPE_WIDTH


def _isatty(stream: IO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@dataclass(frozen=True)
class Term:
    """Where a rendering goes: its width and whether it may use colour."""

    width: int = PIPE_WIDTH
    color: bool = False

    @classmethod
    def detect(cls, stream: IO | None = None) -> Term:
        return cls(width_for(stream), wants_color(stream))


def wrap(text: str, width: int, indent: str = "", first: str | None = None) -> list[str]:
    """``text`` as lines of at most ``width`` columns, broken only at spaces and kept paragraphs apart.

    A word longer than a line stays whole on a line of its own. ``first`` replaces ``indent`` on the first
    line (a label, a bullet)."""
    first = indent if first is None else first
    out: list[str] = []
    for para in text.split("\n"):
        prefix = first if not out else indent
        lines = textwrap.wrap(para, width=max(1, width), initial_indent=prefix, subsequent_indent=indent,
                              break_long_words=False, break_on_hyphens=False) if para.strip() else [prefix.rstrip()]
        out.extend(lines)
    return out


class Doc:
    """Lines of plain text with styled spans; ``render`` adds colour (or not) without moving a character."""

    def __init__(self) -> None:
        self.lines: list[list[tuple[str, str]]] = []

    def line(self, *parts: str | tuple[str, str]) -> Doc:
        """One line from parts: plain strings, or ``(text, style)`` pairs (rich style names)."""
        segs = [(p, "") if isinstance(p, str) else (p[0], p[1]) for p in parts]
        self.lines.append([(_clean(t).replace("\n", " "), s) for t, s in segs])
        return self

    def text(self, text: str, width: int, *, style: str = "", indent: str = "", first: str | None = None) -> Doc:
        """A paragraph wrapped at ``width`` (see :func:`wrap`)."""
        for ln in wrap(_clean(text), width, indent, first):
            self.line((ln, style))
        return self

    def lines_of(self, lines: Iterable[str], style: str = "") -> Doc:
        for ln in lines:
            self.line((ln, style))
        return self

    def blank(self) -> Doc:
        if self.lines and self.lines[-1]:
            self.lines.append([])
        return self

    def extend(self, other: Doc) -> Doc:
        self.lines.extend(other.lines)
        return self

    def plain(self) -> str:
        return self.render(color=False)

    def render(self, *, color: bool) -> str:
        out = []
        for segs in self.lines:
            # Trailing spaces are dropped before styling, so a coloured line ends where the plain one does.
            keep = len("".join(t for t, _ in segs).rstrip())
            line, used = [], 0
            for text, style in segs:
                text = text[: max(0, keep - used)]
                used += len(text)
                if text:
                    line.append(_styled(text, style) if color and style else text)
            out.append("".join(line))
        return "".join(ln + "\n" for ln in out)


def _styled(text: str, style: str) -> str:
    return Style.parse(style).render(text, color_system=ColorSystem.STANDARD)


_CONTROL = {c: " " for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if c != 0x0A}


def _clean(text: str) -> str:
    """Control characters (from a policy's Sid, a resource name…) become spaces: they neither break the
    layout nor reach the terminal. Newlines are kept for :meth:`Doc.text` to split paragraphs on."""
    return text.translate(_CONTROL)
