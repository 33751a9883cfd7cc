"""A real HTTP server that speaks the OpenAI chat-completions protocol (as vLLM does), with
canned answers the test queues: a JSON text, an HTTP error, or a delay. Content parts are
checked as vLLM checks them: `text` and `image_url` only, an image as a base64 data URI
(kept decoded in `images`); anything else is a 400."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.pipelines.model import ModelPipeline

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
    images: list[bytes] = field(default_factory=list)  # every image received, decoded
    server: ThreadingHTTPServer | None = None
    in_flight: int = 0  # chat requests being answered now, and the most at once
    peak_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
                problem = owner.check_content(body)
                if problem:
                    self.send(400, {"error": {"message": problem}})
                    return
                with owner._lock:
                    answer = owner.answers.pop(0) if owner.answers else Answer(status=500)
                    owner.in_flight += 1
                    owner.peak_in_flight = max(owner.peak_in_flight, owner.in_flight)
                time.sleep(answer.delay_s)
                with owner._lock:
                    owner.in_flight -= 1
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

    def check_content(self, body: dict[str, Any]) -> str:
        """Why the messages' content parts are refused, or ''; keeps each image's bytes."""
        for message in body.get("messages", []):
            content = message.get("content")
            if isinstance(content, str):
                continue
            for part in content or []:
                kind = part.get("type")
                if kind == "text" and isinstance(part.get("text"), str):
                    continue
                if kind != "image_url":
                    return f"unsupported content part {kind!r}"
                head, _, data = str(part.get("image_url", {}).get("url", "")).partition(",")
                if not (head.startswith("data:image/") and head.endswith(";base64")):
                    return "image_url must be a base64 data URI"
                try:
                    self.images.append(base64.b64decode(data, validate=True))
                except binascii.Error:
                    return "image_url is not valid base64"
        return ""

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def served_pipeline(server: ChatServer, instance: Path, **extra: Any) -> ModelPipeline:
    """The text pipeline with the served MedGemma (medgemma-4b-vllm) at `server` as its only
    model; no retries unless `extra` asks for them."""
    from shared.config import Settings
    from shared.pipelines.model import ModelPipeline

    extra.setdefault("model_retries", 0)
    settings = Settings(instance_path=instance, model_chain="medgemma-4b-vllm",
                        model_base_url=server.base_url, **extra)  # fmt: skip
    return ModelPipeline(settings)
