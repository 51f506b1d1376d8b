"""Serving the lab: bind a socket, say where, open the browser, run uvicorn until Ctrl-C."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import webbrowser

LOCALHOST = "127.0.0.1"


def bind(host: str = LOCALHOST, port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0: a free port the system picks)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, so that asyncio sets TCP_NODELAY on each connection (it checks the proto):
    # without it, Nagle's algorithm and delayed ACKs add ~40 ms to every response
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def address(sock: socket.socket) -> str:
    """The page's URL for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    return f"http://{shown}:{port}/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(app, sock: socket.socket, *, open_browser: bool = True, log_level: str = "warning") -> None:
    """Run ``app`` on the bound ``sock`` with uvicorn until interrupted; open the page once it is up."""
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=1, lifespan="on")
    server = uvicorn.Server(config)
    if open_browser:
        url = address(sock)

        def open_when_ready():
            for _ in range(200):
                if server.started:
                    webbrowser.open(url)
                    return
                if server.should_exit:
                    return
                time.sleep(0.05)

        threading.Thread(target=open_when_ready, name="nnet-lab-browser", daemon=True).start()
    server.run(sockets=[sock])
