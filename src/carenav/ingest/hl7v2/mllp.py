"""The MLLP listener: HL7 v2 over TCP, one message per block (VT message FS CR), an ACK for each.

Each message is stored and committed before its ACK is written (see ``intake``). A connection that
sends something other than a block (garbage), a block that never ends (truncated) or a block larger
than the limit gets a NAK (MSA AR) when it can still be written, a log line, and is closed; the
listener goes on serving everyone else. Database work runs in worker threads so that one slow message
does not stall other connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace

from carenav.clock import now
from carenav.feeds.rules import AckCode
from carenav.ingest.hl7v2.ack import ErrorCode, ack_build
from carenav.ingest.hl7v2.framing import CARRIAGE_RETURN, END_BLOCK, START_BLOCK, decode, split_messages
from carenav.ingest.hl7v2.intake import IntakeContext, IntakeResult, message_receive
from carenav.ingest.hl7v2.parse import parse_header

log = logging.getLogger("carenav.mllp")

_READ_CHUNK = 64 * 1024
_BETWEEN_BLOCKS = b"\r\n\t "


class FrameError(Exception):
    """The byte stream is not (or no longer) MLLP; the connection is answered with a NAK and closed."""

    def __init__(self, problem: str, *, reply: bool = True) -> None:
        super().__init__(problem)
        self.problem = problem
        self.reply = reply


@dataclass(frozen=True)
class ListenerLimits:
    max_message_bytes: int
    idle_timeout: float = 300.0  # seconds a connection may sit between blocks
    block_timeout: float = 30.0  # seconds a started block may take to end
    shutdown_grace: float = 10.0  # seconds in-flight messages get to finish on shutdown


class BlockReader:
    """Cuts MLLP blocks out of a stream."""

    def __init__(self, reader: asyncio.StreamReader, limits: ListenerLimits) -> None:
        self.reader = reader
        self.limits = limits
        self.buffer = bytearray()

    async def _more(self, timeout: float) -> bytes:
        return await asyncio.wait_for(self.reader.read(_READ_CHUNK), timeout)

    async def next_block(self) -> bytes | None:
        """The payload of the next block; None when the peer closed or went idle between blocks."""
        while True:
            while self.buffer and self.buffer[0] in _BETWEEN_BLOCKS:
                del self.buffer[0]
            if self.buffer:
                break
            try:
                chunk = await self._more(self.limits.idle_timeout)
            except TimeoutError:
                log.info("idle for %.0f s: closing", self.limits.idle_timeout)
                return None
            if not chunk:
                return None
            self.buffer += chunk
        if self.buffer[:1] != START_BLOCK:
            preview = bytes(self.buffer[:32])
            raise FrameError(f"garbage where an MLLP block should start (0x0B expected): {preview!r}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.block_timeout
        searched = 1
        while True:
            end = self.buffer.find(END_BLOCK, searched)
            if end != -1:
                if end - 1 > self.limits.max_message_bytes:
                    raise FrameError(self._too_large(end - 1))
                payload = bytes(self.buffer[1:end])
                del self.buffer[: end + 1]
                if self.buffer[:1] == CARRIAGE_RETURN:
                    del self.buffer[:1]
                return payload
            searched = len(self.buffer)
            if len(self.buffer) - 1 > self.limits.max_message_bytes:
                raise FrameError(self._too_large(len(self.buffer) - 1))
            remaining = deadline - loop.time()
            try:
                chunk = await self._more(max(remaining, 0.0))
            except TimeoutError:
                raise FrameError(
                    f"truncated block: {len(self.buffer) - 1} bytes and no end of block (0x1C) "
                    f"after {self.limits.block_timeout:.0f} s"
                ) from None
            if not chunk:
                raise FrameError(
                    f"truncated block: the peer closed after {len(self.buffer) - 1} bytes "
                    "without an end of block (0x1C)",
                    reply=False,
                )
            self.buffer += chunk

    def _too_large(self, size: int) -> str:
        return f"block of more than {size} bytes exceeds the limit of {self.limits.max_message_bytes} bytes"


class MllpListener:
    """Serve MLLP on one address for one organization until ``stop()``."""

    def __init__(self, *, context: IntakeContext, limits: ListenerLimits) -> None:
        self.context = context
        self.limits = limits
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], bool] = {}  # task -> busy with a message
        self._stopping = asyncio.Event()
        self.address: tuple[str, int] | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._connection, host, port, limit=_READ_CHUNK)
        sockname = self._server.sockets[0].getsockname()
        self.address = (str(sockname[0]), int(sockname[1]))
        log.info("listening on %s:%s for organization %s", *self.address, self.context.org_slug)
        return self.address

    def stop(self) -> None:
        self._stopping.set()

    async def serve(self) -> None:
        """Serve until stopped, then let in-flight messages finish (up to the grace time) and close."""
        assert self._server is not None, "start() first"
        await self._stopping.wait()
        log.info("shutting down: no new connections")
        self._server.close()
        for task, busy in list(self._connections.items()):
            if not busy:
                task.cancel()
        pending = list(self._connections)
        if pending:
            _, still = await asyncio.wait(pending, timeout=self.limits.shutdown_grace)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=1.0)
        await self._server.wait_closed()
        log.info("stopped")

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = False
        peer = writer.get_extra_info("peername")
        origin = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        context = replace(self.context, actor=replace(self.context.actor, client_addr=origin[:64]))
        blocks = BlockReader(reader, self.limits)
        log.info("%s: connected", origin)
        try:
            while not self._stopping.is_set():
                try:
                    payload = await blocks.next_block()
                except FrameError as exc:
                    log.warning("%s: %s; closing the connection", origin, exc.problem)
                    if exc.reply:
                        await self._send(writer, self._nak(exc.problem))
                    break
                if payload is None:
                    break
                self._connections[task] = True
                try:
                    reply = await asyncio.to_thread(self._handle_block, context, payload, origin)
                finally:
                    self._connections[task] = False
                await self._send(writer, reply)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("%s: connection lost: %s", origin, exc)
        except asyncio.CancelledError:
            log.info("%s: closed by shutdown", origin)
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2.0)
            log.info("%s: disconnected", origin)

    def _handle_block(self, context: IntakeContext, payload: bytes, origin: str) -> str:
        """Runs in a worker thread: one block -> the ACK text."""
        messages = split_messages(decode(payload))
        if len(messages) != 1:
            problem = (
                "the block holds no HL7 message"
                if not messages
                else f"the block holds {len(messages)} messages; send one message per block"
            )
            log.warning("%s: rejected: %s", origin, problem)
            header = None
            if messages:
                with contextlib.suppress(Exception):
                    header = parse_header(messages[0].text)
            return ack_build(
                header=header,
                code=AckCode.REJECT,
                at=now(),
                facility=context.org_slug,
                text=problem,
                error_code=ErrorCode.SEGMENT_SEQUENCE,
            )
        result: IntakeResult = message_receive(context=context, raw=messages[0], origin=origin)
        return ack_build(
            header=result.header,
            code=result.ack,
            at=now(),
            facility=context.org_slug,
            text=result.error if result.ack is not AckCode.ACCEPT else None,
            error_code=result.error_code,
            where=result.where.rsplit(", ", 1)[-1] if result.where else None,
        )

    def _nak(self, problem: str) -> str:
        return ack_build(
            header=None,
            code=AckCode.REJECT,
            at=now(),
            facility=self.context.org_slug,
            text=problem,
            error_code=ErrorCode.SEGMENT_SEQUENCE,
        )

    async def _send(self, writer: asyncio.StreamWriter, ack: str) -> None:
        try:
            writer.write(START_BLOCK + ack.encode("utf-8") + END_BLOCK + CARRIAGE_RETURN)
            await asyncio.wait_for(writer.drain(), 10.0)
        except (ConnectionError, TimeoutError) as exc:
            log.info("could not send the acknowledgement: %s", exc)
