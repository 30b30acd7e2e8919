"""A cap on request bodies: larger ones are answered 413 before they are read into memory.

Without it a 50 MB POST was parsed whole (and echoed back in the 422), four at once took the server from 0.5 to
1.8 GB. The cap is checked on ``Content-Length`` first and, for chunked bodies without one, on the bytes as
they arrive.
"""
from __future__ import annotations

import json


class BodyLimit:
    """Pure ASGI middleware (no buffering of its own)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = int(max_bytes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                n = -1
            if n < 0 or n > self.max_bytes:
                return await self._refuse(send, 413 if n > self.max_bytes else 400,
                                          f"request body larger than {self.max_bytes} bytes"
                                          if n > self.max_bytes else "invalid Content-Length")
        seen = 0
        state = {"started": False, "refused": False}

        async def limited_receive():
            nonlocal seen
            if state["refused"]:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes and not state["started"]:
                    # answer now, and let the app see a client that went away (it stops reading)
                    state["refused"] = True
                    await self._refuse(send, 413, f"request body larger than {self.max_bytes} bytes")
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg):
            if state["refused"]:
                return                      # the 413 has been sent; whatever the app says after it is dropped
            if msg["type"] == "http.response.start":
                state["started"] = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["refused"]:
                raise

    @staticmethod
    async def _refuse(send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
