"""A fake Mosend: a real HTTP server on 127.0.0.1 that records requests and answers as programmed.

with FakeMosend() as fake:
    fake.program(500, {"error": "boom"})          # next answer(s), in order
    ...                                           # then the default: 200 {"id": "msg_<n>"}
    fake.requests  # [RecordedRequest(method, path, headers, json)]
"""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    status: int
    body: dict | str | None = None
    headers: dict | None = None
    delay: float = 0.0
    drip: float = 0.0  # seconds between the body's bytes, sent one at a time after the headers


class FakeMosend:
    def __init__(self):
        self.requests: list[RecordedRequest] = []
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append(RecordedRequest(self.command, self.path, dict(self.headers), body))
                    number = len(fake.requests)
                    answer = fake._answers.pop(0) if fake._answers else None
                if answer is None:
                    if self.command == "GET" and self.path == "/v1/account":
                        answer = Answer(200, {"name": "Acme Mosend Org", "id": "org_1"})
                    else:
                        answer = Answer(200, {"id": f"msg_{number}", "status": "queued"})
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body if isinstance(answer.body, str) else json.dumps(answer.body or {})
                data = payload.encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (answer.headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if not answer.drip:
                    self.wfile.write(data)
                    return
                try:
                    for index in range(len(data)):
                        self.wfile.write(data[index : index + 1])
                        self.wfile.flush()
                        time.sleep(answer.drip)
                except OSError:  # the client gave up on us
                    pass

            do_GET = _handle
            do_POST = _handle

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def program(
        self, status: int, body=None, headers: dict | None = None, delay: float = 0.0, drip: float = 0.0
    ) -> "FakeMosend":
        with self._lock:
            self._answers.append(Answer(status, body, headers, delay, drip))
        return self

    def sends(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == "/v1/messages"]

    def __enter__(self) -> "FakeMosend":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
