"""`carenav serve --workers N`: N processes, each listening on its own socket of the port, that answer on
fresh connections; a worker that dies in service is replaced; a port already in use is refused before
anything starts, with the address named; SIGTERM stops the server and every worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from carenav.db.engine import make_engine
from carenav.db.migrate import upgrade
from carenav.web.workers import reuse_port_supported

pytestmark = pytest.mark.skipif(not reuse_port_supported(), reason="SO_REUSEPORT is Linux's")
CARENAV = Path(sys.executable).parent / "carenav"
WAIT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    """The worker processes of the server ``pid`` (not multiprocessing's resource tracker)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue  # gone meanwhile
            if b"resource_tracker" not in command:
                found.add(int(child))
    return found


def _get(port: int, path: str = "/healthz") -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Connection": "close"})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our own loopback server
        return int(response.status)


def _until(what: str, check: object) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            if callable(check) and check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def _serving(tmp_path: Path, port: int, workers: int = 2) -> Iterator[subprocess.Popen[str]]:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(make_engine(url))
    env = dict(os.environ, CARENAV_DATABASE_URL=url)
    command = [str(CARENAV), "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT)


def test_workers_share_the_port_and_are_replaced(tmp_path: Path) -> None:
    port = _free_port()
    with _serving(tmp_path, port) as server:
        _until("the workers to answer", lambda: _get(port, "/readyz") == 200)
        workers = _children(server.pid)
        assert len(workers) == 2, "two worker processes"
        assert all(_get(port) == 200 for _ in range(20)), "every fresh connection answered"

        other = subprocess.run(
            [str(CARENAV), "serve", "--port", str(port), "--workers", "2"],
            env=dict(os.environ, CARENAV_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}"),
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        assert other.returncode == 1, "a second server is refused, not let in to share the port"
        assert f"cannot listen on 127.0.0.1:{port}" in other.stderr

        time.sleep(5)  # past the start-up window: a death now is a crash in service
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        _until("a new worker", lambda: len(_children(server.pid) - {victim}) == 2)
        _until("the new worker to answer", lambda: all(_get(port) == 200 for _ in range(10)))

        serving = _children(server.pid)
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=WAIT)
        assert server.returncode == 0, output
        assert "starting another" in output
        assert not [pid for pid in serving if Path(f"/proc/{pid}").exists()], "every worker stopped"
