"""A real HTTP server that speaks the OpenAI chat-completions protocol (as vLLM does), with
canned answers the test queues: a JSON text, an HTTP error, or a delay."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SERVED = "medgemma-4b"
ROOT = "/models/medgemma-4b-it"


@dataclass
class Answer:
    text: str = ""
    status: int = 200
    delay_s: float = 0.0
    finish_reason: str = "stop"


@dataclass
class ChatServer:
    answers: list[Answer] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)  # a client that timed out has gone

            def do_GET(self) -> None:
                if self.path != "/v1/models":
                    self.send(404, {"error": {"message": "not found"}})
                    return
                model = {"id": SERVED, "object": "model", "created": 0, "owned_by": "vllm",
                         "root": ROOT}  # fmt: skip
                self.send(200, {"object": "list", "data": [model]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(body)
                answer = owner.answers.pop(0) if owner.answers else Answer(status=500)
                time.sleep(answer.delay_s)
                if answer.status != 200:
                    self.send(answer.status, {"error": {"message": "canned failure"}})
                    return
                self.send(200, {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                    "model": SERVED,
                    "choices": [{"index": 0, "finish_reason": answer.finish_reason,
                                 "message": {"role": "assistant", "content": answer.text}}],
                    "usage": {"prompt_tokens": 321, "completion_tokens": 45,
                              "total_tokens": 366},
                })  # fmt: skip

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
