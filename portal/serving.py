"""How the portal is served: HTTP through Django's WSGI handler on a fixed pool of
threads, WebSockets through Channels, one ASGI server process per core.

Under Django's ASGI handler every request's sync code runs in a thread of its
own, and a persistent database connection belongs to its thread: under load a
process keeps opening connections until PostgreSQL refuses clients, and every
request pays several thread hops. Here each HTTP request runs start to finish on
one of `WEB_THREADS` long-lived threads, each keeping one persistent connection,
so a process holds at most `WEB_THREADS + 1` connections (the one more is the
single thread Channels' `database_sync_to_async` runs WebSocket work on), and
the server at most `WEB_PROCESSES` times that: see `connection_bound()`.

Each process listens on a socket of its own (SO_REUSEPORT), so the kernel
spreads connections over the processes, and so over the cores; uvicorn's
supervisor restarts a process that dies.

`python -m portal.serving --host H --port P` starts the server (`make run` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import os
import socket
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

BACKLOG = 2048  # uvicorn's default


def web_processes() -> int:
    """WEB_PROCESSES, or one process per core the server may run on."""
    from django.conf import settings

    return settings.WEB_PROCESSES or len(os.sched_getaffinity(0))


def connection_bound() -> int:
    """The most PostgreSQL connections the web server holds, from the settings."""
    from django.conf import settings

    return web_processes() * (settings.WEB_THREADS + 1)


class WSGIBridge:
    """An ASGI app that runs a WSGI app (Django's) on a fixed pool of threads.

    A whole request runs in one pool thread: its database connection stays with
    that thread from one request to the next. A response that is not streamed
    is read in the thread and sent in one go; a streamed one is sent chunk by
    chunk. The request's context variables are a copy of the event loop's, so
    nothing set while serving one request is seen by the next one.
    """

    def __init__(self, app: Callable, threads: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="http"
        )

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        first = await receive()
        if first["type"] == "http.disconnect":
            return  # the client went away before its request was complete
        loop = asyncio.get_running_loop()
        body = _RequestBody(first, receive, loop)
        context = contextvars.copy_context()
        answer = await loop.run_in_executor(
            self.executor, context.run, self._serve, _environ(scope, body), loop, send
        )
        if answer is not None:  # not streamed: send it from here, in one go
            status, headers, content = answer
            await send(
                {"type": "http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": content})

    def _serve(self, environ: dict, loop: asyncio.AbstractEventLoop, send: Callable):
        """In a pool thread: call the app; the whole answer, or None once streamed."""
        started: list = []

        def start_response(
            status: str, headers: list, exc_info: Any = None
        ) -> Callable:
            started[:] = [
                int(status.split(" ", 1)[0]),
                [
                    (k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in headers
                ],
            ]
            return lambda data: None  # the write() callable: Django never uses it

        iterable: Iterable[bytes] = self.app(environ, start_response)
        try:
            if not getattr(iterable, "streaming", False):
                return started[0], started[1], b"".join(iterable)

            def push(message: dict) -> None:
                asyncio.run_coroutine_threadsafe(send(message), loop).result()

            push(
                {
                    "type": "http.response.start",
                    "status": started[0],
                    "headers": started[1],
                }
            )
            for chunk in iterable:
                if chunk:
                    push(
                        {"type": "http.response.body", "body": chunk, "more_body": True}
                    )
            push({"type": "http.response.body", "body": b""})
            return None
        finally:
            # Django's request_finished (connection upkeep) runs here, in this thread.
            close = getattr(iterable, "close", None)
            if close is not None:
                close()


async def _lifespan(receive: Callable, send: Callable) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _RequestBody:
    """wsgi.input: the body's first chunk as received, the rest pulled from the
    event loop only when the application reads it (so a body-size limit answers
    before an oversized body is taken in)."""

    def __init__(
        self, message: dict, receive: Callable, loop: asyncio.AbstractEventLoop
    ):
        self.buffer = bytearray(message.get("body", b""))
        self.more = bool(message.get("more_body"))
        self.receive, self.loop = receive, loop

    def _pull(self) -> None:
        message = asyncio.run_coroutine_threadsafe(self.receive(), self.loop).result()
        if message["type"] == "http.disconnect":
            self.more = False
            raise OSError("The client disconnected while sending its request.")
        self.buffer += message.get("body", b"")
        self.more = bool(message.get("more_body"))

    def _take(self, size: int) -> bytes:
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def read(self, size: int | None = -1) -> bytes:
        while self.more and (size is None or size < 0 or len(self.buffer) < size):
            self._pull()
        return self._take(len(self.buffer) if size is None or size < 0 else size)

    def readline(self, size: int | None = -1) -> bytes:
        limit = None if size is None or size < 0 else size
        while b"\n" not in self.buffer and self.more:
            if limit is not None and len(self.buffer) >= limit:
                break
            self._pull()
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        return self._take(end if limit is None else min(end, limit))


def _environ(scope: dict, body: Any) -> dict:
    """PEP 3333's environ of an ASGI HTTP scope."""
    root = scope.get("root_path", "")
    path = scope["path"]
    if root and path.startswith(root):
        path = path[len(root) :]
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode().decode("latin-1"),
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:  # the socket's peer: the server trusts no forwarding header
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client[0], str(client[1])
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            name = "HTTP_" + name
        value = raw_value.decode("latin-1")
        if name in environ:
            value = environ[name] + ("; " if name == "HTTP_COOKIE" else ",") + value
        environ[name] = value
    return environ


def http_application() -> WSGIBridge:
    """Django's WSGI handler behind the bridge, sized by WEB_THREADS."""
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    return WSGIBridge(app, threads=settings.WEB_THREADS)


def listening_socket(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A TCP socket on host:port with SO_REUSEPORT: one per server process.

    Processes sharing one listening socket take connections greedily: the first
    to wake accepts every connection waiting, so eight keep-alive clients can all
    land on one process while the other cores idle. With a socket of its own in
    each process, the kernel spreads new connections over the processes by a
    hash of their addresses. Only sockets of the same user may join the group.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(BACKLOG)
            sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


class _OwnSocketServer:
    """The target of each server process: uvicorn on a listening socket of its own."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def __call__(self, sockets: list[socket.socket] | None = None) -> None:
        import uvicorn

        own = listening_socket(self.config.host, self.config.port)
        uvicorn.Server(self.config).run(sockets=[own])


def main(argv: list[str] | None = None) -> None:
    """Start the ASGI server: WEB_PROCESSES processes, HTTP and WebSockets on one port."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    processes = web_processes()
    config = uvicorn.Config(
        "portal.asgi:application",
        host=args.host,
        port=args.port,
        workers=processes,
        backlog=BACKLOG,
        # The client's address is the socket's peer; the application alone
        # decides whether to believe a proxy (TRUSTED_PROXIES).
        proxy_headers=False,
        forwarded_allow_ips="",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    if processes == 1:
        uvicorn.Server(config).run()
        return
    # Bound, not listening: the port is held (a clash fails here, at once, not in
    # every worker) but no connection is queued on a socket nobody accepts from.
    with listening_socket(args.host, args.port, listen=False):
        Multiprocess(config, target=_OwnSocketServer(config), sockets=[]).run()


if __name__ == "__main__":
    main()
