"""MLLP, HL7's minimal lower layer protocol: each message framed as 0x0B <message> 0x1C 0x0D
on a TCP connection, answered on the same connection. A threaded listener (one thread per
connection, a bounded number of them) with a message size limit, an idle timeout, a deadline
for each message to arrive whole (so a client trickling bytes cannot hold a connection slot)
and a clean stop; and a small client. Transport only: what a message means is the handler's
business.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("medtriage.mllp")

START, END = b"\x0b", b"\x1c\x0d"
HEAD_BYTES = 4096  # what is kept of an oversized message: enough for its MSH


@dataclass(frozen=True)
class Frame:
    """A whole message (`too_big` False), or the head of one over the limit (True)."""

    data: bytes
    too_big: bool = False
    peer: str = ""  # the sending address (set by the server), for its allow-list


class Framer:
    """Cuts a byte stream into frames; never holds more than the limit (plus one read)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.in_frame = False
        self.head: bytes | None = None  # set while skipping the rest of an oversized message
        self.junk = 0  # bytes seen outside any frame

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        self.buffer += data
        while self.buffer:
            if not self.in_frame:
                start = self.buffer.find(START)
                if start < 0:
                    self.junk += len(self.buffer)
                    self.buffer.clear()
                    break
                self.junk += start
                del self.buffer[: start + 1]
                self.in_frame = True
            end = self.buffer.find(END)
            if self.head is None:
                restart = self.buffer.find(START, 0, end if end >= 0 else len(self.buffer))
                if restart >= 0:  # a new frame began before this one ended: drop the torn one
                    log.info("mllp: a frame was restarted before it ended; dropped")
                    del self.buffer[: restart + 1]
                    continue
            if end < 0:
                if self.head is None and len(self.buffer) > self.max_bytes:
                    self.head = bytes(self.buffer[:HEAD_BYTES])
                if self.head is not None:  # keep the last byte: it may be the 0x1C of END
                    del self.buffer[:-1]
                break
            body = bytes(self.buffer[:end])
            del self.buffer[: end + len(END)]
            self.in_frame = False
            if self.head is not None or len(body) > self.max_bytes:
                frames.append(Frame(self.head or body[:HEAD_BYTES], too_big=True))
                self.head = None
            else:
                frames.append(Frame(body))
        return frames


Handler = Callable[[Frame], bytes]


class MllpServer:
    """Listens on host:port; `handler` answers each frame (its ACK, unframed)."""

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 2575,
        max_bytes: int = 1024 * 1024,
        idle_timeout_s: float = 60.0,
        max_connections: int = 32,
        message_timeout_s: float = 60.0,
    ) -> None:
        self.handler = handler
        self.host, self.port = host, port
        self.max_bytes = max_bytes
        self.idle_timeout_s = idle_timeout_s
        self.message_timeout_s = message_timeout_s
        self.slots = threading.BoundedSemaphore(max_connections)
        self.stopping = threading.Event()
        self.sock: socket.socket | None = None
        self.connections: dict[socket.socket, threading.Thread] = {}
        self.lock = threading.Lock()
        self.accepter: threading.Thread | None = None

    def start(self) -> None:
        """Bind and listen (fails at once if the port is taken), then accept in a thread."""
        sock = socket.create_server((self.host, self.port), reuse_port=False, backlog=64)
        sock.settimeout(0.5)  # the accept loop looks at `stopping` this often
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.accepter = threading.Thread(target=self._accept, name="mllp-accept", daemon=True)
        self.accepter.start()

    def _accept(self) -> None:
        assert self.sock is not None
        while not self.stopping.is_set():
            try:
                conn, addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError as exc:  # out of descriptors, say: wait a little, keep serving
                if self.stopping.is_set():
                    return
                log.warning("mllp: accept failed: %s", type(exc).__name__)
                self.stopping.wait(0.2)
                continue
            if not self.slots.acquire(blocking=False):
                log.warning("mllp: connection refused, %s already open", len(self.connections))
                conn.close()
                continue
            peer = str(addr[0]) if isinstance(addr, tuple) and addr else ""
            thread = threading.Thread(target=self._serve, args=(conn, peer), name="mllp-conn")
            with self.lock:
                self.connections[conn] = thread
            thread.start()

    def _serve(self, conn: socket.socket, peer: str = "") -> None:
        """Serve one connection. Two clocks close it: `idle_timeout_s` after its last whole
        message (bytes outside any frame do not count as activity), and `message_timeout_s`
        after a message's start byte when the message has not arrived whole by then."""
        framer = Framer(self.max_bytes)
        idle_since = time.monotonic()  # the connection's start, then each whole message
        frame_since = idle_since  # when the message now arriving began
        try:
            while not self.stopping.is_set():
                now = time.monotonic()
                if framer.in_frame:
                    left = frame_since + self.message_timeout_s - now
                    wait = min(left, self.idle_timeout_s)
                else:
                    left = wait = idle_since + self.idle_timeout_s - now
                if left <= 0:
                    self._log_timeout(framer.in_frame)
                    break
                conn.settimeout(wait)
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    late = (
                        framer.in_frame and time.monotonic() >= frame_since + self.message_timeout_s
                    )
                    self._log_timeout(late)
                    break
                if not data:
                    if framer.in_frame:
                        log.info("mllp: connection closed in the middle of a message; dropped")
                    break
                now = time.monotonic()
                was_in_frame = framer.in_frame
                frames = framer.feed(data)
                if frames:
                    idle_since = now
                if framer.in_frame and (frames or not was_in_frame):
                    frame_since = now  # a message began in this read
                conn.settimeout(self.idle_timeout_s)  # for the answers: a reader that stalls
                for frame in frames:
                    answer = self._answer(dataclasses.replace(frame, peer=peer))
                    conn.sendall(START + answer + END)
                if framer.junk > self.max_bytes:
                    log.info("mllp: %s bytes outside any frame; connection closed", framer.junk)
                    break
        except OSError as exc:
            log.info("mllp: connection ended: %s", type(exc).__name__)
        finally:
            conn.close()
            with self.lock:
                self.connections.pop(conn, None)
            self.slots.release()

    def _log_timeout(self, mid_message: bool) -> None:
        if mid_message:
            log.info(
                "mllp: a message did not arrive whole within %ss of its start; connection "
                "closed, the message dropped",
                self.message_timeout_s,
            )
        else:
            log.info("mllp: no message for %ss; connection closed", self.idle_timeout_s)

    def _answer(self, frame: Frame) -> bytes:
        try:
            return self.handler(frame)
        except Exception as exc:  # noqa: BLE001 - one message never stops the listener
            # The type only (its text may quote the message); the connection then closes,
            # unanswered, so the sender sends the message again.
            log.error("mllp: the handler failed: %s", type(exc).__name__)
            raise ConnectionAbortedError from None

    def stop(self, timeout_s: float = 30.0) -> None:
        """Accept no more; let each connection finish the message it is handling and answer
        it, then close. A message still arriving is dropped (never acknowledged, so the
        sender sends it again)."""
        self.stopping.set()
        if self.accepter is not None:
            self.accepter.join(timeout=2)
        if self.sock is not None:
            self.sock.close()
        with self.lock:
            open_now = dict(self.connections)
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RD)  # wakes a waiting recv; answers still go out
            except OSError:
                pass
        for thread in open_now.values():
            thread.join(timeout=timeout_s)


def send(host: str, port: int, message: bytes, timeout_s: float = 30.0) -> bytes:
    """Send one message and return its answer, unframed (a test or a site's smoke check)."""
    with socket.create_connection((host, port), timeout=timeout_s) as conn:
        conn.sendall(START + message + END)
        framer = Framer(16 * 1024 * 1024)
        while True:
            data = conn.recv(65536)
            if not data:
                raise ConnectionError("the listener closed the connection without an answer")
            frames = framer.feed(data)
            if frames:
                return frames[0].data
