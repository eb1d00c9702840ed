"""Read a request body in an ASGI app and still hand the request on untouched."""

from __future__ import annotations

from collections import deque
from typing import Any


async def read_body(receive: Any, max_body_size: int) -> tuple[bytes | None, Any]:
    """The whole body (None when it is larger than ``max_body_size`` or the client went away)
    and a ``receive`` that replays every message read so far, then reads on, so the app the
    request is handed to sees it exactly as it arrived."""
    cached: deque[dict[str, Any]] = deque()
    chunks: list[bytes] = []
    size = 0
    complete = False
    while True:
        message = await receive()
        cached.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > max_body_size:
            break
        if not message.get("more_body", False):
            complete = True
            break

    async def replay() -> Any:
        if cached:
            return cached.popleft()
        return await receive()

    return (b"".join(chunks) if complete else None), replay
