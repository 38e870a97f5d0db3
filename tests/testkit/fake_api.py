"""A fault-injecting OpenAI-compatible server on 127.0.0.1 for the ``openai`` system tests.

Each source text (the last user turn, or the completions prompt, with the
prompt template set to just ``{source}``) has a script: one behaviour per
attempt, the last one repeated. Behaviours:

``ok`` / ``ok:TEXT`` (200 with a chat or completions answer), ``429`` /
``429:ra=S`` (Retry-After seconds) / ``429:ms=MS`` (retry-after-ms), ``408``,
``409``, ``500``, ``503``, ``400``, ``401``, ``quota`` (429
``insufficient_quota``), ``slow:S`` (sleep S seconds, then answer),
``malformed`` (200 with a body that is not JSON), ``truncated`` (a
Content-Length longer than the body, then close), ``length`` (finish_reason
"length"), ``refusal`` (content null and a refusal), ``empty`` (content "").

The server records every request (path, headers, body). It is bounded:
requests over ``max_requests`` get 503 and a ``slow`` sleep is cut at
``max_sleep`` seconds, so a broken test cannot hang.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
         "prompt_tokens_details": {"cached_tokens": 4},
         "completion_tokens_details": {"reasoning_tokens": 2}}


class FakeAPI:
    """The server, its scripts and its request log."""

    def __init__(self, *, max_requests: int = 500, max_sleep: float = 5.0) -> None:
        self.scripts: dict[str, list[str]] = {}
        self.default = "ok"
        self.requests: list[dict[str, Any]] = []
        self.max_requests, self.max_sleep = max_requests, max_sleep
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One send per answer, no Nagle: headers and body written apart would wait
            # for the client's delayed ACK (~40 ms) on every keep-alive request.
            disable_nagle_algorithm = True
            wbufsize = 1 << 16

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                api.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a client that gave up
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reset(self, scripts: dict[str, list[str]] | None = None, default: str = "ok") -> None:
        with self._lock:
            self.scripts = {k: list(v) for k, v in (scripts or {}).items()}
            self.default = default
            self.requests = []

    def attempts(self, source: str) -> int:
        return sum(1 for r in self.requests if r["source"] == source)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- answering ---------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        chat = "messages" in body
        source = body["messages"][-1]["content"] if chat else body["prompt"].rstrip("\n")
        with self._lock:
            n = self.attempts(source)
            self.requests.append({"path": handler.path, "source": source, "body": body,
                                  "authorization": handler.headers.get("authorization")})
            over = len(self.requests) > self.max_requests
            script = self.scripts.get(source, [self.default])
            step = "503" if over else script[min(n, len(script) - 1)]
        kind, _, arg = step.partition(":")
        if kind == "slow":
            time.sleep(min(float(arg), self.max_sleep))
            kind, arg = "ok", ""
        if kind in ("ok", "length", "refusal", "empty"):
            text = arg or f"EN[{source}]"
            finish = "length" if kind == "length" else "stop"
            content: str | None = {"refusal": None, "empty": ""}.get(kind, text)
            if chat:
                message = {"role": "assistant", "content": content}
                if kind == "refusal":
                    message["refusal"] = "I can't help with that."
                choice = {"index": 0, "message": message, "finish_reason": finish}
            else:
                choice = {"index": 0, "text": content or "", "finish_reason": finish}
            answer = {"id": "x", "object": "chat.completion" if chat else "text_completion",
                      "model": body["model"] + "-2026", "system_fingerprint": "fp_test",
                      "choices": [choice], "usage": USAGE}
            self._send(handler, 200, json.dumps(answer).encode())
        elif kind == "quota":
            self._send(handler, 429, json.dumps({"error": {
                "message": "You exceeded your current quota.", "type": "insufficient_quota",
                "code": "insufficient_quota"}}).encode())
        elif kind == "429":
            headers = {}
            if arg.startswith("ra="):
                headers["Retry-After"] = arg[3:]
            elif arg.startswith("ms="):
                headers["retry-after-ms"] = arg[3:]
            self._send(handler, 429, b'{"error": {"message": "Rate limit reached", '
                                     b'"type": "requests", "code": "rate_limit_exceeded"}}',
                       headers)
        elif kind == "malformed":
            self._send(handler, 200, b'{"choices": [ {"message": ')
        elif kind == "truncated":
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "400")
            handler.end_headers()
            handler.wfile.write(b'{"choices": [')
            handler.wfile.flush()
            handler.close_connection = True
        elif kind == "echo-key":  # a 400 whose message repeats the key, as some APIs do
            key = handler.headers.get("authorization", "")
            self._send(handler, 400, json.dumps({"error": {"message": f"bad request for {key}"}})
                       .encode())
        else:
            self._send(handler, int(kind), json.dumps({"error": {"message": f"status {kind}"}})
                       .encode())

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: bytes,
              headers: dict[str, str] | None = None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(payload)
