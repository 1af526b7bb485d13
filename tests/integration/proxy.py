"""A small reverse proxy on loopback, to put a flaky gateway between the bot and Synapse.

`FlakyProxy(target)` listens on a free 127.0.0.1 port and forwards every request
(method, path, query string, headers and body) to `target`, then relays the answer.
Setting ``proxy.failing = True`` makes it answer every new request with a 502 and an
HTML body, as nginx does when its upstream is gone, without forwarding anything.
Requests already forwarded (a long-poll /sync, say) are left to finish.

It counts the requests it receives: in total, and while failing (with their method
and path, for diagnostics).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

# Headers that describe one hop, not the message: never copied across the proxy.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)

BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)

# Long enough for any long-poll /sync the bot or a test makes.
UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=180, connect=10)


def _copy_headers(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """The end-to-end headers, repeated ones included."""
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP)


class FlakyProxy:
    """Use as ``async with FlakyProxy(synapse.base_url) as proxy: ... proxy.url ...``."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.failing = False
        self.requests = 0
        self.requests_while_failing = 0
        self.failed_requests: list[tuple[str, str]] = []  # (method, path) answered 502
        self.upstream_errors = 0
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the proxy is not started")
        return f"http://127.0.0.1:{self.port}"

    def reset_counts(self) -> None:
        self.requests = 0
        self.requests_while_failing = 0
        self.failed_requests.clear()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=UPSTREAM_TIMEOUT, auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        assert host == "127.0.0.1"
        self.port = int(port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @staticmethod
    def _bad_gateway() -> web.Response:
        return web.Response(
            status=502,
            text=BAD_GATEWAY_HTML,
            content_type="text/html",
            headers={"Server": "nginx"},
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.failing:
            self.requests_while_failing += 1
            self.failed_requests.append((request.method, request.path))
            return self._bad_gateway()
        assert self._session is not None
        body = await request.read()
        url = URL(self.target + request.raw_path, encoded=True)
        try:
            async with self._session.request(
                request.method,
                url,
                headers=_copy_headers(request.headers),
                data=body or None,
                allow_redirects=False,
            ) as upstream:
                payload = await upstream.read()
                headers = _copy_headers(upstream.headers)
                status = upstream.status
        except (aiohttp.ClientError, TimeoutError):
            # The upstream is down or hung up: what nginx answers too.
            self.upstream_errors += 1
            return self._bad_gateway()
        return web.Response(status=status, body=payload, headers=headers)
