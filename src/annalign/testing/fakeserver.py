"""A small OpenAI-compatible fake server (asyncio, HTTP/1.1) for tests, benchmarks and dry runs.

It answers chat completions with a deterministic rating (from the hash of the messages) and
log-probabilities, after a fixed latency, and can inject faults per request: ``429`` (with
Retry-After), ``500``, ``slow`` (past the client's timeout), ``truncated`` and ``malformed``
bodies, ``empty`` choices, ``refusal`` text, ``drop`` (close without answering), ``echo`` (a 500 whose
message echoes the Authorization header, to test redaction), ``529`` (Anthropic's "overloaded"),
``401``/``403``/``404`` (bad key, no access, unknown model: fatal for a client) and ``400-logprobs``
(a 400 "logprobs are not supported" whenever the request asks for log-probabilities, as some
OpenAI-compatible servers answer). Every request is logged with the hash of its messages and its
query string. Run ``python -m annalign.testing.fakeserver --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from annalign.engine.ledger import messages_hash

FaultPlan = Callable[[str, int], "str | None"]


def default_answer(messages: list[dict[str, str]], digest: str) -> str:
    """A deterministic answer: shares as JSON if the prompt asks how annotators split, a Yes/No/Unsure label if it
    asks for one, else a digit 1-5."""
    text = messages[-1]["content"] if messages else ""
    if 'keys "Yes", "Unsure" and "No"' in text:
        yes, unsure = int(digest[:2], 16) % 61, int(digest[2:4], 16) % 21
        return json.dumps({"Yes": yes, "Unsure": unsure, "No": 100 - yes - unsure})
    if "(Yes, No or Unsure)" in text:
        return ("Yes", "No", "Unsure")[int(digest[:8], 16) % 3]
    return str(int(digest[:8], 16) % 5 + 1)


class FakeOpenAIServer:
    """An in-thread (or standalone) fake of ``POST /v1/chat/completions``."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
        answer: Callable[[list[dict[str, str]], str], str] | None = None,
        retry_after: str = "1",
        slow_seconds: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
        gate: threading.Event | None = None,
    ):
        self.latency = latency
        self.faults = faults
        self.answer = answer or default_answer
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.gate = gate  # when given, every request waits until it is set (tests of requests in flight)
        self.host = host
        self.port = port
        self.log: list[dict[str, Any]] = []
        self.attempts: dict[str, int] = {}
        self.auth_headers: set[str] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        """Serve in a daemon thread with its own event loop; returns once listening."""
        self._thread = threading.Thread(target=self._run_thread, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def _run_thread(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._listen())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Close the listener and stop the thread."""
        if self._loop is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
                task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def serve_forever(self) -> None:
        """Standalone mode (``python -m``): listen and serve until killed."""
        await self._listen()
        print(f"PORT {self.port}", flush=True)
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    # -- HTTP ----------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                keep = await self._respond(method, path, headers, body, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            try:
                writer.close()
            except RuntimeError:
                pass

    @staticmethod
    def _send(writer: asyncio.StreamWriter, status: int, payload: bytes, extra: dict[str, str] | None = None, length: int | None = None) -> None:
        reason = {
            200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 529: "Overloaded",
        }.get(status, "X")  # fmt: skip
        hdrs = {"Content-Type": "application/json", "Content-Length": str(len(payload) if length is None else length), **(extra or {})}
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        writer.write(head.encode("latin-1") + payload)

    async def _respond(self, method: str, path: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; returns whether to keep the connection open."""
        path, _, query = path.partition("?")
        if method == "GET" and path.rstrip("/").endswith("/models"):
            self._send(writer, 200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode())
            await writer.drain()
            return True
        anthropic_api = method == "POST" and path.rstrip("/").endswith("/messages")
        if not anthropic_api and (method != "POST" or not path.rstrip("/").endswith("/chat/completions")):
            self._send(writer, 404, b'{"error": {"message": "not found"}}')
            await writer.drain()
            return True
        req = json.loads(body or b"{}")
        messages = req.get("messages", [])
        if anthropic_api:  # Anthropic Messages API: the system prompt is a field of its own
            auth = headers.get("x-api-key") or headers.get("authorization", "")
            system = req.get("system")
            messages = ([{"role": "system", "content": system}] if system else []) + messages
        digest = messages_hash(messages)
        auth = auth if anthropic_api else headers.get("authorization", "")
        with self._lock:
            attempt = self.attempts.get(digest, 0) + 1
            self.attempts[digest] = attempt
            self.auth_headers.add(auth)
        fault = self.faults(digest, attempt) if self.faults else None
        entry = {
            "hash": digest, "attempt": attempt, "fault": fault, "t_recv": time.time(), "t_done": None,
            "seed": req.get("seed"), "query": query, "logprobs": bool(req.get("logprobs")), "auth": auth,
            "cache_prompt": req.get("cache_prompt"), "tail": messages[-1]["content"][-200:] if messages else "",
        }  # fmt: skip
        with self._lock:
            self.log.append(entry)
        if self.latency:
            await asyncio.sleep(self.latency)
        while self.gate is not None and not self.gate.is_set():
            await asyncio.sleep(0.01)
        keep = True
        if fault == "429":
            self._send(writer, 429, b'{"error": {"message": "rate limited", "type": "rate_limit"}}', {"Retry-After": self.retry_after})
        elif fault == "echo":  # a misbehaving server that echoes the Authorization header back
            msg = json.dumps({"error": {"message": f"bad auth {auth}"}}).encode()
            self._send(writer, 500, msg)
        elif fault == "500":
            self._send(writer, 500, b'{"error": {"message": "internal error"}}')
        elif fault == "529":
            self._send(writer, 529, b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}')
        elif fault in ("401", "403", "404"):
            kind = {"401": "authentication_error", "403": "permission_error", "404": "not_found_error"}[fault]
            message = {"401": "invalid x-api-key", "403": "no access to this model", "404": "model: fake not found"}[fault]
            self._send(writer, int(fault), json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode())
        elif fault == "400-logprobs" and req.get("logprobs"):
            self._send(writer, 400, b'{"error": {"message": "logprobs are not supported by this model", "type": "invalid_request_error"}}')
        elif fault == "slow":
            await asyncio.sleep(self.slow_seconds)
            self._send(writer, 200, self._body(anthropic_api, req, messages, digest))
        elif fault == "truncated":
            payload = self._body(anthropic_api, req, messages, digest)
            self._send(writer, 200, payload[: len(payload) // 2], length=len(payload))
            keep = False
        elif fault == "malformed":
            self._send(writer, 200, b'{"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "3"')
        elif fault == "empty":
            self._send(writer, 200, json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "fake", "choices": []}).encode())
        elif fault == "drop":
            keep = False
        else:
            text = "I'm sorry, I can't help with rating this." if fault == "refusal" else None
            self._send(writer, 200, self._body(anthropic_api, req, messages, digest, text))
        if keep or fault == "truncated":
            await writer.drain()
        entry["t_done"] = time.time()
        return keep

    def _body(self, anthropic_api: bool, req: dict[str, Any], messages: list[dict[str, str]], digest: str, text: str | None = None) -> bytes:
        """A success body in the protocol of the request (OpenAI chat.completion or Anthropic message)."""
        if not anthropic_api:
            return self._completion(req, messages, digest, text)
        answer = text if text is not None else self.answer(messages, digest)
        usage = {"input_tokens": sum(len(m.get("content", "")) for m in messages) // 4, "output_tokens": 1}
        return json.dumps(
            {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": req.get("model", "fake"),
                "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": usage,
            }
        ).encode()  # fmt: skip

    def _completion(self, req: dict[str, Any], messages: list[dict[str, str]], digest: str, text: str | None = None) -> bytes:
        """A chat.completion body with the answer and (if asked) top log-probabilities."""
        answer = text if text is not None else self.answer(messages, digest)
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
        if req.get("logprobs"):
            digits = ["1", "2", "3", "4", "5"] if answer.isdigit() else ["Yes", "No", "Unsure"]
            others = [d for d in digits if d != answer]
            top = [{"token": answer, "logprob": math.log(0.7), "bytes": None}]
            top += [{"token": d, "logprob": math.log(0.3 / len(others)), "bytes": None} for d in others]
            top = top[: max(1, int(req.get("top_logprobs") or 1))]
            choice["logprobs"] = {"content": [{"token": answer, "logprob": math.log(0.7), "bytes": None, "top_logprobs": top}]}
        usage = {"prompt_tokens": sum(len(m.get("content", "")) for m in messages) // 4, "completion_tokens": 1}
        usage["total_tokens"] = usage["prompt_tokens"] + 1
        return json.dumps(
            {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": req.get("model", "fake"), "choices": [choice], "usage": usage}
        ).encode()


def main() -> None:
    """Standalone server: ``python -m annalign.testing.fakeserver --port 0 --latency 0.1``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    server = FakeOpenAIServer(latency=args.latency, host=args.host, port=args.port)
    try:
        asyncio.run(server.serve_forever())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
