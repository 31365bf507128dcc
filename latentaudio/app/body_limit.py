"""A limit on request bodies, enforced before the app reads them: ASGI middleware for the API."""

from __future__ import annotations

import json

FORM_OVERHEAD_BYTES = 1 << 16  # room for an edit's text fields beside the file


class BodyLimit:
    """ASGI middleware: a request body over ``upload_mb`` (plus room for form fields) is
    refused with 413 before it is read, on its Content-Length, or as soon as a body without one
    (chunked) passes the limit: the app then sees the body end there, and whatever it answers
    is replaced by the 413. No larger upload is ever spooled to disk or memory."""

    def __init__(self, app, upload_mb: float) -> None:
        self.app, self.upload_mb = app, upload_mb
        self.limit = int(upload_mb * 1e6) + FORM_OVERHEAD_BYTES

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send)
        seen, over = 0, False

        async def counted():
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                over = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def answered(message):
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(send)

        await self.app(scope, counted, answered)

    async def _refuse(self, send) -> None:
        body = json.dumps({"error": f"the upload is over {self.upload_mb:g} MB: send a "
                                    "smaller file (max_upload_mb in /v1/health)"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body.encode()})
