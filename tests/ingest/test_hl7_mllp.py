"""The MLLP listener with real senders over loopback: ACK codes, durability, duplicates, bad peers.

The listener runs in a thread with its own event loop against a database of the test's own (its commits
are real); senders are plain sockets and python-hl7's MLLPClient. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import hl7
import pytest
from hl7.client import MLLPClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carenav.access import Actor
from carenav.accounts.models import Organization
from carenav.accounts.services import organization_create
from carenav.db.engine import make_engine
from carenav.db.session import make_session_factory, unit_of_work
from carenav.feeds.models import InboundMessage
from carenav.ingest.hl7v2.intake import intake_context
from carenav.ingest.hl7v2.mllp import ListenerLimits, MllpListener
from tests.builders import make_patient

pytestmark = pytest.mark.slow
VT, FS, CR = b"\x0b", b"\x1c", b"\r"
TIMEOUT = 15.0


@dataclass
class Running:
    port: int
    sessions: sessionmaker[Session]
    org: Organization

    def messages(self) -> list[InboundMessage]:
        with unit_of_work(self.sessions) as session:
            return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


@contextmanager
def serving(
    sessions: sessionmaker[Session], actor: Actor, limits: ListenerLimits, name: str = "mllp-test"
) -> Iterator[int]:
    """An MLLP listener on a thread of its own, on a free port of 127.0.0.1; yields the port."""
    context = intake_context(
        sessions=sessions, actor=actor, channel="mllp", max_message_bytes=limits.max_message_bytes
    )
    server = MllpListener(context=context, limits=limits)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start("127.0.0.1", 0))
        started.set()
        loop.run_until_complete(server.serve())

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        assert started.wait(TIMEOUT), "the listener did not start"
        assert server.address is not None
        yield server.address[1]
    finally:
        loop.call_soon_threadsafe(server.stop)
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "the listener did not stop"
        loop.close()


@contextmanager
def listener(url: str, *, max_bytes: int = 64 * 1024, block_timeout: float = 30.0) -> Iterator[Running]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        org = organization_create(
            session=session, slug="default", name="Default", timezone="America/New_York"
        )
    limits = ListenerLimits(max_message_bytes=max_bytes, idle_timeout=TIMEOUT, block_timeout=block_timeout)
    try:
        with serving(sessions, Actor.system(org.id, "mllp", "mllp"), limits) as port:
            yield Running(port, sessions, org)
    finally:
        engine.dispose()


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.settimeout(TIMEOUT)
    return sock


def read_block(sock: socket.socket) -> bytes:
    """One MLLP block's payload, or b'' if the peer closed first."""
    data = b""
    for _ in range(1000):
        if FS + CR in data:
            break
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    assert data.startswith(VT), data[:40]
    return data[1 : data.index(FS + CR)]


def exchange(sock: socket.socket, message: str) -> hl7.Message:
    sock.sendall(VT + message.encode() + FS + CR)
    return hl7.parse(read_block(sock).decode())


def msa(ack: hl7.Message) -> tuple[str, str]:
    return str(ack.segment("MSA")(1)), str(ack.segment("MSA")(2))


def closed(sock: socket.socket) -> bool:
    for _ in range(100):
        chunk = sock.recv(65536)
        if not chunk:
            return True
    return False


def a01(control: str, *, birth: str = "19570302", mrn: str = "M100") -> str:
    return (
        f"MSH|^~\\&|EPIC|GEN|CARENAV|CN|20240301080000||ADT^A01|{control}|P|2.5.1\r"
        f"EVN|A01|20240301080000\r"
        f"PID|1||{mrn}^^^GEN^MR||Shaw^Amy||{birth}|F\r"
        "PV1|1|I|4W^401^A^GEN" + "|" * 16 + "V1\r"
    )


def test_a_real_message_is_stored_before_its_aa_and_duplicates_are_not_applied_twice(
    fresh_db_url: str, shared_data: Path
) -> None:
    text = (shared_data / "hl7v2-adt" / "v2tofhir_A01-Simple-Admit-VHIS-1-v2.3.1.hl7").read_text()
    with listener(fresh_db_url) as running:
        client = MLLPClient("127.0.0.1", running.port)
        client.socket.settimeout(TIMEOUT)
        with client:
            ack = hl7.parse(client.send_message(text).strip(VT + FS + CR + b"\n").decode())
            assert msa(ack) == ("AA", "MSG015410771930-19")
            assert str(ack.segment("MSH")(9)) == "ACK^A01^ACK"
            (stored,) = running.messages()  # committed before the ACK was sent
            assert (stored.status, stored.channel, stored.trigger_event) == ("unmatched", "mllp", "A01")
            again = hl7.parse(client.send_message(text).strip(VT + FS + CR + b"\n").decode())
            assert msa(again) == ("AA", "MSG015410771930-19")
        assert len(running.messages()) == 1


def test_aa_applied_ae_for_an_application_error_ar_for_unsupported(fresh_db_url: str) -> None:
    with listener(fresh_db_url) as running:
        with unit_of_work(running.sessions) as session:
            org = session.get_one(Organization, running.org.id)
            make_patient(session, org, family="Shaw", given="Amy", birth_date=date(1957, 3, 2), sex="female")
        with connect(running.port) as sock:
            assert msa(exchange(sock, a01("OK1"))) == ("AA", "OK1")
            bad_date = a01("BAD1", birth="19571302")
            ack = exchange(sock, bad_date)
            assert msa(ack) == ("AE", "BAD1")
            assert str(ack.segment("ERR")(2)) == "PID^1^7"
            unknown = a01("ODD1").replace("ADT^A01", "ADT^A99")
            assert msa(exchange(sock, unknown)) == ("AR", "ODD1")
            not_hl7 = exchange(sock, "hello, is this the lab?")
            assert msa(not_hl7) == ("AR", "")
            assert msa(exchange(sock, a01("OK2").replace("ADT^A01", "ADT^A08"))) == ("AA", "OK2")
        statuses = {m.control_id: m.status for m in running.messages()}
        assert statuses == {"OK1": "applied", "BAD1": "error", "ODD1": "rejected", "OK2": "applied"}


def test_garbage_gets_a_nak_and_a_closed_connection_while_others_are_served(fresh_db_url: str) -> None:
    with listener(fresh_db_url) as running, connect(running.port) as good:
        with connect(running.port) as rogue:
            rogue.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            nak = hl7.parse(read_block(rogue).decode())
            assert msa(nak)[0] == "AR"
            assert "garbage" in str(nak.segment("MSA")(3))
            assert closed(rogue)
        assert msa(exchange(good, a01("AFTER-GARBAGE"))) == ("AA", "AFTER-GARBAGE")


def test_an_oversized_block_is_refused_and_the_listener_goes_on(fresh_db_url: str) -> None:
    with listener(fresh_db_url, max_bytes=2000) as running:
        with connect(running.port) as sock:
            huge = a01("HUGE").replace("Shaw^Amy", "Shaw^" + "A" * 5000)
            sock.sendall(VT + huge.encode() + FS + CR)
            nak = hl7.parse(read_block(sock).decode())
            assert msa(nak)[0] == "AR"
            assert "exceeds the limit of 2000 bytes" in str(nak.segment("MSA")(3))
            assert closed(sock)
        with connect(running.port) as sock:
            assert msa(exchange(sock, a01("SMALL"))) == ("AA", "SMALL")
        assert [m.control_id for m in running.messages()] == ["SMALL"]


def test_truncated_blocks_store_nothing(fresh_db_url: str) -> None:
    with listener(fresh_db_url, block_timeout=1.0) as running:
        with connect(running.port) as sock:  # the sender gives up half way and closes
            sock.sendall(VT + a01("CUT1").encode()[:60])
            sock.shutdown(socket.SHUT_WR)
            assert closed(sock)
        with connect(running.port) as sock:  # the sender stalls half way: the block times out
            sock.sendall(VT + a01("CUT2").encode()[:60])
            nak = hl7.parse(read_block(sock).decode())
            assert msa(nak)[0] == "AR"
            assert "truncated block" in str(nak.segment("MSA")(3))
            assert closed(sock)
        with connect(running.port) as sock:
            assert msa(exchange(sock, a01("WHOLE"))) == ("AA", "WHOLE")
        assert [m.control_id for m in running.messages()] == ["WHOLE"]


def test_the_cli_listener_serves_and_stops_on_sigterm(fresh_db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "CARENAV_DATABASE_URL": fresh_db_url}
    script = "from carenav.cli.main import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", script, "mllp", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on 127.0.0.1:" in line, line + (
            process.stderr.read() if process.poll() is not None else ""
        )
        port = int(line.split("127.0.0.1:")[1].split()[0])
        with connect(port) as sock:
            assert msa(exchange(sock, a01("CLI1"))) == ("AA", "CLI1")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "CLI1 stored as message 1: unmatched" in err
    engine = make_engine(fresh_db_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            assert session.scalars(select(InboundMessage.status)).all() == ["unmatched"]
    finally:
        engine.dispose()
