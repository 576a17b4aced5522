"""Safe by default: the real server started the way ``make run`` starts it (the
repository's ``.streamlit/config.toml``, no address given) answers on 127.0.0.1
and its listening socket is bound to loopback only; started like ``make serve`` it
listens on every interface and asks for sign-in first (``tests/test_browser_team.py``).
The tests read the kernel's socket table and never send traffic to a non-loopback address.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.security import is_loopback

REPO = Path(__file__).resolve().parent.parent


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP socket on ``port`` listens on (``/proc/net/tcp`` and ``tcp6``).

    Reading the kernel's socket table proves what the server is reachable on without
    sending any traffic to a non-loopback address.
    """
    import ipaddress

    found: set[str] = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr_hex, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A = LISTEN
                continue
            raw = bytes.fromhex(addr_hex)
            # the kernel writes each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(str(ipaddress.ip_address(raw if width == 16 else raw[:4])))
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def answers(host: str, port: int) -> bool:
    """Whether the Streamlit health endpoint answers on ``host:port``."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/_stcore/health", timeout=3) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


def start_server(tmp_path: Path, *extra: str, env_extra: dict | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "SIEVE_DATA_DIR": str(tmp_path / "data"), "SIEVE_CACHE_DIR": str(tmp_path / "cache"),
           "SIEVE_RERANKER": "embedded", "HF_HUB_OFFLINE": "1", **(env_extra or {})}
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - the process owns it
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port",
                             str(port), "--server.headless", "true", *extra],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while not answers("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the server did not start:\n" + (tmp_path / "server.log").read_text()[-3000:])
        time.sleep(0.5)
    return proc, port


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_by_default_the_server_listens_on_loopback_only(tmp_path):
    if not Path("/proc/net/tcp").is_file():
        pytest.skip("no /proc/net/tcp to read the listening sockets from")
    proc, port = start_server(tmp_path)  # exactly `make run`'s command line, minus the address
    try:
        assert answers("127.0.0.1", port)
        bound = listening_addresses(port)
        assert bound and all(is_loopback(a) for a in bound), f"listening on {bound}"
    finally:
        stop(proc)


def test_make_run_and_the_config_both_pin_the_address():
    config = (REPO / ".streamlit" / "config.toml").read_text()
    assert 'address = "127.0.0.1"' in config
    makefile = (REPO / "Makefile").read_text()
    run_recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "--server.address 127.0.0.1" in run_recipe
    serve_recipe = makefile.split("\nserve:", 1)[1].split("\n\n", 1)[0]
    assert "SIEVE_SERVE=team" in serve_recipe


def test_served_on_the_network_it_listens_on_every_interface(tmp_path):
    """Like `make serve` (address 0.0.0.0): reachable beyond loopback, so sign-in is on
    (tests/test_browser_team.py). Only the socket table is read; no traffic leaves loopback."""
    if not Path("/proc/net/tcp").is_file():
        pytest.skip("no /proc/net/tcp to read the listening sockets from")
    proc, port = start_server(tmp_path, "--server.address", "0.0.0.0", env_extra={"SIEVE_SERVE": "team"})
    try:
        assert answers("127.0.0.1", port)
        bound = listening_addresses(port)
        assert any(not is_loopback(a) for a in bound), f"listening on {bound}"
    finally:
        stop(proc)
