"""Worker processes that share one port, each with a listening socket of its own (``SO_REUSEPORT``).

One Python process runs one thread of Python at a time, so ``carenav serve`` runs several. With uvicorn's
own supervisor the workers share one listening socket and race to accept; a browser (or a load tool)
keeps its connection open, so whichever worker won the race serves every request on it, and under 50
users one worker was seen serving three requests in four while the other idled, its queue making the
slow tail. Here each worker binds its own socket to the port and the kernel spreads new connections
across them. Where the platform lacks ``SO_REUSEPORT`` the caller falls back to uvicorn's supervisor.

The supervisor restarts a worker that dies after it had been serving, stops every worker on SIGINT or
SIGTERM, and gives up (exit status 1) when a worker dies as soon as it starts, which would otherwise loop.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import socket
import sys
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from carenav.web.app import create_app

APP_FACTORY = "carenav.web.workers:served_app"
GC_THRESHOLDS = (50_000, 20, 100)
"""Python's collector runs when allocations outnumber deallocations by 700 (the default); one page loads
thousands of rows as objects, so it ran many times a page, and a full collection walked every object
the server had made at start. Measured with the benchmark (50 users): 8% less CPU and a shorter tail."""
BACKLOG = 2048
STARTUP_SECONDS = 5.0
"""A worker that dies sooner than this after starting is failing to start, not crashing in service."""
STOP_SECONDS = 10.0


def served_app() -> FastAPI:
    """The application as a server process runs it: built, then what it made at start set aside from the
    collector (``gc.freeze``: it lives as long as the process) and the collector run less often."""
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def _socket(host: str, port: int, *, grouped: bool) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not yet listening); ``grouped``: one of the worker group
    (``SO_REUSEPORT``). OSError naming the address when the port cannot be had."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if grouped:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}") from None
    return sock


def port_check(host: str, port: int) -> None:
    """Refuse a port already in use before any worker starts, with OSError naming the address. The check
    binds a plain socket: one of the group would join any group already on the port (a second server
    would share its connections)."""
    _socket(host, port, grouped=False).close()


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    sock = _socket(host, port, grouped=True)
    sock.listen(BACKLOG)
    config = uvicorn.Config(APP_FACTORY, factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(
    host: str, port: int, workers: int, options: dict[str, Any], say: Callable[[str], None]
) -> int:
    """Run ``workers`` worker processes on ``host:port`` until stopped; the exit status."""
    port_check(host, port)
    context = multiprocessing.get_context("spawn")
    running: dict[int, tuple[BaseProcess, float]] = {}
    stopping = False

    def start(slot: int) -> None:
        process = context.Process(
            target=_worker, args=(host, port, options), name=f"carenav-worker-{slot}", daemon=False
        )
        process.start()
        running[slot] = (process, time.monotonic())

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        for slot in range(workers):
            start(slot)
        while not stopping:
            time.sleep(0.2)
            for slot, (process, started) in list(running.items()):
                if process.is_alive():
                    continue
                if time.monotonic() - started < STARTUP_SECONDS:
                    say(f"worker {slot} stopped as it started (exit status {process.exitcode}); giving up")
                    stopping, status = True, 1
                    break
                say(f"worker {slot} stopped (exit status {process.exitcode}); starting another")
                start(slot)
    finally:
        for process, _ in running.values():
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits
        deadline = time.monotonic() + STOP_SECONDS
        for process, _ in running.values():
            process.join(max(deadline - time.monotonic(), 0))
            if process.is_alive():
                process.kill()
                process.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status
