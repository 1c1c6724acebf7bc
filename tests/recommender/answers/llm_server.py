"""A local HTTP server that speaks the OpenAI chat-completions protocol, for the provider's tests.

Each request takes the next scripted reply: a streamed answer (server-sent events, one delta per
piece), an error status with headers, a pause before answering, or a malformed event. Requests
are recorded (path, headers, JSON body) for the tests to inspect.
"""
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    pieces: list[str] = field(default_factory=list)  # streamed deltas
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    stall_after: int | None = None  # stop sending (but keep the connection) after this many pieces
    raw_event: str | None = None  # sent as one event's data instead of valid JSON
    piece_delay: float = 0.0  # seconds between pieces, as a model that writes slowly


class ChatServer:
    def __init__(self):
        self.replies: list[Reply] = []
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                reply = server.replies.pop(0) if server.replies else Reply(pieces=["(no reply scripted)"])
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    payload = json.dumps({"error": {"message": f"scripted {reply.status}", "type": "test"}}).encode()
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                if reply.raw_event is not None:
                    self._event(reply.raw_event)
                for n, piece in enumerate(reply.pieces):
                    if reply.stall_after is not None and n >= reply.stall_after:
                        time.sleep(5)
                        return
                    if n and reply.piece_delay:
                        time.sleep(reply.piece_delay)
                    chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0,
                             "model": body.get("model", ""),
                             "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self._event(json.dumps(chunk, ensure_ascii=False))
                self._event("[DONE]")
                self.close_connection = True

            def _event(self, data: str):
                self.wfile.write(f"data: {data}\n\n".encode())
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
