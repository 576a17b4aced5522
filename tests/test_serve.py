"""Safe by default: the real server started the way ``make run`` starts it (the
repository's ``.streamlit/config.toml``, no address given) answers on 127.0.0.1
and not on this machine's network address; started like ``make serve`` it answers
on the network address and asks for sign-in first (``tests/test_browser_team.py``).
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


def non_loopback_addresses() -> list[str]:
    """IPv4 addresses of this machine that are not loopback (``hostname -I``, else the UDP trick)."""
    found: list[str] = []
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5, check=False).stdout
        found += [a for a in out.split() if ":" not in a]
    except (OSError, subprocess.SubprocessError):
        pass
    try:  # connect() on UDP sends nothing; it only picks the outgoing interface
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            found.append(s.getsockname()[0])
    except OSError:
        pass
    return [a for a in dict.fromkeys(found) if not is_loopback(a) and a != "0.0.0.0"]


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
    while not answers("127.0.0.1", port) and not (extra and answers(extra[-1], port)):
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


def test_by_default_the_server_answers_on_loopback_only(tmp_path):
    addresses = non_loopback_addresses()
    if not addresses:
        pytest.skip("this machine has no non-loopback address to try")
    proc, port = start_server(tmp_path)  # exactly `make run`'s command line, minus the address
    try:
        assert answers("127.0.0.1", port)
        for address in addresses:
            assert not answers(address, port), f"the server answers on {address}:{port}"
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


def test_served_on_the_network_it_answers_there(tmp_path):
    addresses = non_loopback_addresses()
    if not addresses:
        pytest.skip("this machine has no non-loopback address to try")
    proc, port = start_server(tmp_path, "--server.address", addresses[0], env_extra={"SIEVE_SERVE": "team"})
    try:
        assert answers(addresses[0], port), "served on the network: reachable there (sign-in is checked in " \
                                            "tests/test_browser_team.py)"
    finally:
        stop(proc)
