"""Run the real CLI in a pseudo-terminal of a given size and read back what a person would see.

The child gets a pty as stdin, stdout and stderr (so it sees a terminal of ``cols`` × ``rows``, as in an
80×40 window), and the bytes it writes are replayed on a small line model of a terminal: carriage return,
line feed, erase-line and cursor-up (what rich's transient progress line uses) are honoured, colour codes are
kept aside. What remains is the scrollback a person reads, line by line, before the terminal wraps it.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field

_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")
_OTHER_ESC = re.compile(r"\x1b[()][A-Za-z0-9]|\x1b[=>]|\x1b\][^\x07]*\x07")


@dataclass
class Screen:
    code: int
    raw: str  # everything written, escape codes included
    lines: list[str] = field(default_factory=list)  # the scrollback, codes removed, lines not wrapped

    @property
    def colored(self) -> bool:
        return bool(re.search(r"\x1b\[[0-9;]*[1-9][0-9;]*m", self.raw))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def replay(raw: str) -> list[str]:
    """The lines a terminal shows after ``raw``: CR, LF, ESC[K / ESC[2K (erase line), ESC[nA (cursor up) and
    ESC[nG (column) are honoured; colours and other codes take no room."""
    raw = _OTHER_ESC.sub("", raw)
    lines: list[list[str]] = [[]]
    row = col = 0
    pos = 0
    for m in [*_CSI.finditer(raw), None]:
        chunk = raw[pos: m.start() if m else len(raw)]
        for ch in chunk:
            if ch == "\n":
                row += 1
                col = 0
                while len(lines) <= row:
                    lines.append([])
            elif ch == "\r":
                col = 0
            elif ch == "\b":
                col = max(0, col - 1)
            elif ch >= " " or ch == "\t":
                line = lines[row]
                while len(line) < col:
                    line.append(" ")
                if col < len(line):
                    line[col] = ch
                else:
                    line.append(ch)
                col += 1
        if m is None:
            break
        pos = m.end()
        args, op = m.group(1), m.group(2)
        n = int(args) if args.isdigit() else 1
        if op == "K":
            mode = int(args) if args.isdigit() else 0
            lines[row] = [] if mode == 2 else lines[row][:col] if mode == 0 else [" "] * col + lines[row][col:]
        elif op == "A":
            row = max(0, row - n)
        elif op == "G":
            col = max(0, n - 1)
    out = ["".join(line) for line in lines]
    while out and not out[-1].strip():
        out.pop()
    return out


def run_in_terminal(*args: str, env: dict[str, str] | None = None, cols: int = 80, rows: int = 40,
                    timeout: float = 300) -> Screen:
    """``python -m auditor ARGS`` on a pty of ``cols`` × ``rows``; AWS_*, DD_*, COLUMNS and colour variables
    of the calling environment are not passed on (``env`` sets what the test wants)."""
    drop = ("AWS_", "DD_")
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(drop) and k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
    full_env = {**base, "TERM": "xterm-256color", **(env or {})}
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "auditor", *args], stdin=slave, stdout=slave, stderr=slave,
                            env=full_env, close_fds=True, start_new_session=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    raw = b"".join(chunks).decode("utf-8", "replace")
    return Screen(code, raw, replay(raw))
