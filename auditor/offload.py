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
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

log = logging.getLogger(__name__)

R = TypeVar("R")

#: Fewer items than this are computed here: the process would cost more than it saves (about 1.5 ms an item
#: for a bucket policy against 50 ms to start an interpreter).
MIN_ITEMS = 64
#: Items sent at a time: one message each way per chunk, and answers come back while the rest is computed.
CHUNK = 16

#: True in a helper process (set by :func:`_serve`).
IN_HELPER = False

#: The helper's first message is the parent's ``sys.path``, read with nothing but the standard library.
_BOOT = ("import sys, pickle; i = sys.stdin.buffer; n = int.from_bytes(i.read(8), 'big'); "
         "sys.path[:] = pickle.loads(i.read(n)); from auditor.offload import _serve; _serve()")


def _send(out: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(8, "big") + data)
    out.flush()


def _receive(src: IO[bytes]) -> Any:
    head = src.read(8)
    if len(head) < 8:
        raise EOFError("the helper process ended")
    n = int.from_bytes(head, "big")
    data = src.read(n)
    if len(data) < n:
        raise EOFError("the helper process ended mid-answer")
    return pickle.loads(data)


def _serve() -> None:
    """The helper process: answer each ``(function, [args, …])`` with ``("ok", [answers])`` or ``("error", text)``,
    until its input ends. Ctrl-C is the parent's to handle: it ends the helper by closing that input."""
    import signal

    global IN_HELPER
    IN_HELPER = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    src, out = sys.stdin.buffer, sys.stdout.buffer
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


class Offload:
    """Hands batches of work to a helper process (see the module), one process per batch. Not thread-safe: the
    engine's thread uses it."""

    def __init__(self, *, min_items: int = MIN_ITEMS) -> None:
        self.min_items = min_items
        self.failed = ""  # why the helper process failed, once: the scan then computes everything here
        self.sent = 0  # items the helper process answered (for tests and ``-v``)

    def starmap(self, fn: Callable[..., R], items: Iterable[tuple]) -> Iterator[R]:
        """``fn(*args)`` for each ``args`` of ``items``, in order, computed by the helper process when there are
        enough of them and it works; otherwise, or from the first chunk it could not answer, here."""
        items = list(items)
        done = 0
        if len(items) >= self.min_items and not self.failed and _processors() > 1:
            try:
                for answer in self._remote(fn, items):
                    done += 1
                    self.sent += 1
                    yield answer
            except Exception as exc:  # noqa: BLE001 - any failure of the helper: the rest is computed here
                self.failed = f"{type(exc).__name__}: {exc}"
                log.info("helper process failed after %d of %d items (%s); computing the rest here", done,
                         len(items), self.failed)
        for args in items[done:]:
            yield fn(*args)

    def _remote(self, fn: Callable[..., R], items: list[tuple]) -> Iterator[R]:
        chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
        proc = subprocess.Popen([sys.executable, "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
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
        try:
            for _ in chunks:
                try:
                    status, answer = _receive(proc.stdout)
                except EOFError:
                    if feeder_error:
                        raise feeder_error[0] from None
                    raise
                if status != "ok":
                    raise RuntimeError(f"the helper process could not compute a chunk ({answer})")
                yield from answer
        finally:
            if proc.poll() is None and (feeder.is_alive() or not proc.stdin.closed):
                proc.kill()
            proc.stdout.close()
            feeder.join(timeout=5)
            try:
                proc.wait(timeout=5)  # reaped: its CPU time is the scan's, for whoever measures it
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


__all__ = ["Offload", "MIN_ITEMS"]
