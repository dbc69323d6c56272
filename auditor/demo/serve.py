"""``python -m auditor.demo.serve PORT``: a moto server (with the project's extensions) in its own process.

moto keeps its state per process, so two servers in one process share one account. Tests that need an
account of their own start this instead; it stops when its standard input closes.
"""

from __future__ import annotations

import sys

from .servers import LocalAws


def main() -> None:
    port = int(sys.argv[1])
    aws = LocalAws(port=port).start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # until the parent closes the pipe (or dies)
    finally:
        aws.stop()


if __name__ == "__main__":
    main()
