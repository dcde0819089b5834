"""Apps served by both ``cohttp run`` and uvicorn in tests/cohttp/test_run.py.

``LIFESPAN_LOG`` (an environment variable) names a file each process appends its lifespan
events to, with its pid, so a test can see start-up and shutdown ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Form, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.routing import Route


def _note(event: str) -> None:
    path = os.environ.get("LIFESPAN_LOG")
    if path:
        with open(path, "a") as f:
            f.write(f"{os.getpid()} {event}\n")


class Item(BaseModel):
    name: str
    count: int


class Teapot(Exception):
    pass


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    _note("startup")
    yield
    _note("shutdown")


api = FastAPI(lifespan=lifespan)
DONE: list[str] = []


@api.exception_handler(Teapot)
async def teapot(request: Request, exc: Teapot) -> JSONResponse:
    return JSONResponse({"error": "teapot"}, status_code=418)


@api.get("/items/{item_id}")
async def get_item(item_id: int, q: str | None = None) -> dict[str, Any]:
    return {"item_id": item_id, "q": q}


@api.post("/items")
async def post_item(item: Item) -> dict[str, Any]:
    return {"name": item.name, "double": item.count * 2}


@api.post("/form")
async def post_form(name: str = Form(...), age: int = Form(...)) -> dict[str, Any]:
    return {"name": name, "age": age}


@api.get("/stream")
async def stream() -> StreamingResponse:
    async def pieces() -> Any:
        for i in range(5):
            yield f"piece {i}\n".encode()

    return StreamingResponse(pieces(), media_type="text/plain")


@api.post("/background")
async def background() -> JSONResponse:
    return JSONResponse({"queued": True}, background=BackgroundTask(DONE.append, "x"))


@api.get("/done")
async def done() -> dict[str, int]:
    return {"done": len(DONE)}


@api.get("/missing")
async def missing() -> None:
    raise HTTPException(status_code=404, detail="nothing here")


@api.get("/teapot")
async def raise_teapot() -> None:
    raise Teapot


@api.post("/large")
async def large(request: Request) -> PlainTextResponse:
    body = await request.body()
    return PlainTextResponse(f"{len(body)} {sum(body) % 65521}")


@api.get("/large")
async def large_get() -> Response:
    return Response(b"0123456789abcdef" * 65536, media_type="application/octet-stream")


@api.get("/pid")
async def pid() -> dict[str, int]:
    return {"pid": os.getpid()}


@api.get("/slow")
async def slow(seconds: float = 1.0) -> dict[str, float]:
    _note("slow")  # the request is in a worker now: a test may send its signal
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@api.get("/scope")
async def scope(request: Request) -> dict[str, Any]:
    s = request.scope
    return {
        "scheme": s["scheme"],
        "client": s["client"][0] if s["client"] else None,
        "root_path": s["root_path"],
        "path": s["path"],
        "server_port": s["server"][1] if s["server"] else None,
        "http_version": s["http_version"],
    }


@api.websocket("/ws")
async def websocket_echo(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol="chat" if websocket.scope["subprotocols"] else None)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "close":
                await websocket.close(code=4001, reason="as asked")
                return
            if message.get("text") is not None:
                await websocket.send_text(f"echo {message['text']} {websocket.url.path}")
            else:
                await websocket.send_bytes(message["bytes"][::-1])
    except WebSocketDisconnect:
        return


async def star_home(request: Any) -> Response:
    return PlainTextResponse(f"hello {request.query_params.get('who', 'world')}")


async def star_echo(request: Any) -> Response:
    data = await request.json()
    return JSONResponse({"echo": data}, status_code=201, headers={"x-custom": "yes"})


async def star_empty(request: Any) -> Response:
    return Response(status_code=204)


async def star_redirect(request: Any) -> Response:
    return Response(status_code=307, headers={"location": "/"})


star = Starlette(
    routes=[
        Route("/", star_home),
        Route("/echo", star_echo, methods=["POST"]),
        Route("/empty", star_empty),
        Route("/redirect", star_redirect),
    ]
)
