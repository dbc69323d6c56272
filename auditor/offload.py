"""Pure, CPU-bound judging on a second interpreter, so that it does not hold the GIL the scan's I/O needs.

A scan's worker threads spend their CPU in botocore under one GIL; a check that computes for seconds on the
main thread (the bucket-policy analyses: 1.3–1.7 s at the 2x benchmark account) takes that GIL from them, and
fewer requests are in flight while it runs. :class:`Offload` hands such work — a module-level function of
picklable arguments with a picklable answer — to a helper process: ``python -c`` with this module's
:func:`_serve`, fed pickled chunks on its standard input, answering on its standard output. It is a new
interpreter, never a fork of a process whose threads may hold locks, and unlike ``multiprocessing``'s ``spawn``
it never imports the parent's ``__main__`` (a script that embeds the CLI without a main guard would run twice).
It lives while one batch is computed (about a second for 540 bucket policies), not through the scan's last and
largest moments.

It only ever changes where an answer is computed, never the answer: the same function runs either way, and
whatever goes wrong with the process (it cannot start, it dies, the function raises, an answer does not pickle)
the remaining items are computed here, in order — so an error raised by the function itself is raised here,
as without a helper. Small batches, and machines with one processor, stay here: the process costs about 50 ms
of the other processor to start and 16–25 MB of memory while it lives.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

log = logging.getLogger(__name__)

R = TypeVar("R")

#: Fewer items than this are computed here. The helper costs 50 ms of the other processor to start and 16–25 MB
#: while it lives; a bucket policy's verdict 1.5–3 ms of the GIL in a busy scan. At 128 policies that is
#: 0.2–0.4 s taken off the GIL; below, the memory is the larger cost (measured: at the 0.25x benchmark
#: account, 68 policies, the helper raised the scan's peak from 86 to 96 MB, 14.6 KB per resource against
#: the target of 10; from the 0.5x account on, its second early in the scan is below the peak at the end).
MIN_ITEMS = 128
#: Items sent at a time: one message each way per chunk, and answers come back while the rest is computed.
CHUNK = 16
#: A helper that sends nothing for this long is taken for hung, and the rest is computed here. Not the scan's
#: deadline: that bounds waiting for data, not judging, and a scan past it still judges what it read.
ANSWER_TIMEOUT = 120.0

#: True in a helper process (set by :func:`_serve`).
IN_HELPER = False

#: The helper's first message is the parent's ``sys.path``, read with nothing but the standard library.
_BOOT = ("import sys, pickle; i = sys.stdin.buffer; n = int.from_bytes(i.read(16)[8:], 'big'); "
         "sys.path[:] = pickle.loads(i.read(n)); from auditor.offload import _serve; _serve()")


_MAGIC = b"AUDITOR1"
#: No answer or chunk is near this: anything larger is not a frame of ours (a stray print on the pipe).
_MAX_FRAME = 1 << 28


def _send(out: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_MAGIC + len(data).to_bytes(8, "big") + data)
    while view:  # an unbuffered pipe may take part of it (a signal during the write)
        view = view[out.write(view) or 0:]
    out.flush()


def _read_exact(src: IO[bytes], n: int) -> bytes:
    parts, left = [], n
    while left:
        got = src.read(left)
        if not got:
            raise EOFError("the helper process ended")
        parts.append(got)
        left -= len(got)
    return b"".join(parts)


def _receive(src: IO[bytes]) -> Any:
    head = _read_exact(src, len(_MAGIC) + 8)
    n = int.from_bytes(head[len(_MAGIC):], "big")
    if head[:len(_MAGIC)] != _MAGIC or n > _MAX_FRAME:
        raise ValueError("the helper process wrote something else than its answers")
    return pickle.loads(_read_exact(src, n))


def _serve() -> None:
    """The helper process: answer each ``(function, [args, …])`` with ``("ok", [answers])`` or ``("error", text)``,
    until its input ends. Ctrl-C is the parent's to handle: it ends the helper by closing that input."""
    import signal

    global IN_HELPER
    IN_HELPER = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    src, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed is not an answer
    while True:
        try:
            fn, chunk = _receive(src)
        except EOFError:
            return
        try:
            answer: tuple = ("ok", [fn(*args) for args in chunk])
            _send(out, answer)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which computes the chunk itself
            _send(out, ("error", f"{type(exc).__name__}: {exc}"))


def _processors() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _python() -> str | None:
    """The interpreter to start: this one, unless the program is frozen or embedded (``sys.executable`` is then
    the program itself, or a host that would read ``-c`` its own way)."""
    exe = sys.executable
    if getattr(sys, "frozen", False) or not exe or not os.path.basename(exe).lower().startswith("python"):
        return None
    if os.name == "nt":  # waiting for an answer uses select() on a pipe, which Windows has only for sockets
        return None
    return exe


#: What the helper's environment keeps: it needs none of the scan's credentials or keys.
_ENV_KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT")

#: Helpers alive at once in this process (a multi-account run judges several accounts at a time): one per
#: processor beyond the first; an account that finds none free computes its batch itself.
_helpers = threading.BoundedSemaphore(max(1, _processors() - 1))


class Offload:
    """Hands batches of work to a helper process (see the module), one process per batch. Not thread-safe: one
    account's engine thread uses it."""

    def __init__(self, *, min_items: int = MIN_ITEMS) -> None:
        self.min_items = min_items
        self.failed = ""  # why the helper process failed, once: the scan then computes everything here
        self.sent = 0  # items the helper process answered (for tests and ``-v``)

    def starmap(self, fn: Callable[..., R], items: Iterable[tuple]) -> Iterator[R]:
        """``fn(*args)`` for each ``args`` of ``items``, in order, computed by the helper process when there are
        enough of them and it works; otherwise, or from the first chunk it could not answer, here."""
        items = list(items)
        done = 0
        python = _python()
        if (len(items) >= self.min_items and not self.failed and python is not None and _processors() > 1
                and _helpers.acquire(blocking=False)):
            try:
                for answer in self._remote(python, fn, items):
                    done += 1
                    self.sent += 1
                    yield answer
            except Exception as exc:  # noqa: BLE001 - any failure of the helper: the rest is computed here
                self.failed = f"{type(exc).__name__}: {exc}"
                log.info("helper process failed after %d of %d items (%s); computing the rest here", done,
                         len(items), self.failed)
            finally:
                _helpers.release()
        for args in items[done:]:
            yield fn(*args)

    def _remote(self, python: str, fn: Callable[..., R], items: list[tuple]) -> Iterator[R]:
        chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
        # -I: the helper's own start-up (its first import, pickle) does not look in the working directory (a
        # pickle.py there would run) nor read PYTHON* variables; it then takes this process's sys.path, from
        # its first message, and is exactly as exposed as this process is.
        env = {k: v for k, v in os.environ.items() if k in _ENV_KEPT}
        proc = subprocess.Popen([python, "-I", "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, bufsize=0)
        assert proc.stdin is not None and proc.stdout is not None
        feeder_error: list[BaseException] = []

        def feed() -> None:  # on a thread of its own: a chunk larger than the pipe must not wait for its reader
            try:
                _send(proc.stdin, list(sys.path))
                for chunk in chunks:
                    _send(proc.stdin, (fn, chunk))
            except BaseException as exc:  # noqa: BLE001 - a pickling error or a dead helper: the reader stops too
                feeder_error.append(exc)
            finally:
                with contextlib.suppress(OSError):
                    proc.stdin.close()  # the helper ends when it has answered everything sent

        feeder = threading.Thread(target=feed, name="auditor-offload-feed", daemon=True)
        feeder.start()
        finished = False
        try:
            for _ in chunks:
                ready, _, _ = select.select([proc.stdout], [], [], ANSWER_TIMEOUT)
                if not ready:
                    raise TimeoutError(f"no answer from the helper process in {ANSWER_TIMEOUT:g} s")
                try:
                    status, answer = _receive(proc.stdout)
                except EOFError:
                    if feeder_error:
                        raise feeder_error[0] from None
                    raise
                if status != "ok":
                    raise RuntimeError(f"the helper process could not compute a chunk ({answer})")
                yield from answer
            finished = True
        finally:
            if not finished:  # an error, Ctrl-C, or a reader that stopped early: nothing more is wanted
                proc.kill()
            proc.stdout.close()
            feeder.join(timeout=5)
            try:
                proc.wait(timeout=5)  # reaped: its CPU time is the scan's, for whoever measures it
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


__all__ = ["Offload", "MIN_ITEMS"]
