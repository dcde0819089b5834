"""A plain ASGI app for ``cohttp run --gzip``: a JSON body sent whole, text streamed."""

from __future__ import annotations

import json
from typing import Any

ITEMS = [{"id": i, "name": f"item {i}", "tags": ["a", "b", "c"]} for i in range(200)]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        for i in range(20):
            await send(
                {"type": "http.response.body", "body": b"line %d\n" % i * 20, "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})
        return
    body = json.dumps(ITEMS).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
