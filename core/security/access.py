"""Roles, what each may do, and when Sieve must ask who is there.

Sieve runs in one of two ways:

* **local** (the default, ``make run``): the server listens on 127.0.0.1 only and
  has no user file, so the person at the machine is its only user: no sign-in,
  every page, the annotator name typed on the Settings page;
* **team** (``make serve``): the server is reachable from a network, or
  ``SIEVE_SERVE=team`` is set, or a user file exists. Then every visitor signs
  in, sees only the pages their role allows, and grades under their own name.
"""

from __future__ import annotations

import ipaddress

#: The roles, most powerful first.
ROLES: tuple[str, ...] = ("admin", "analyst", "annotator")

#: What each role may do. Pages check one permission each (``dashboard.auth.require``).
#: ``server_files``: read a file named by its path on the server (Data page) or move the
#: data folder; ``modes``: edit the instruction modes everybody uses; ``assign``: hand a
#: query's pool out to annotators; ``review``: see everyone's grades and adjudicate;
#: ``my_queue``: grade the posts assigned to oneself.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"data", "server_files", "rerank", "compare", "map", "grade", "evaluate",
                        "settings", "modes", "users", "assign", "review", "my_queue"}),
    "analyst": frozenset({"data", "rerank", "compare", "map", "grade", "evaluate", "assign", "review",
                          "my_queue"}),
    "annotator": frozenset({"my_queue"}),
}


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only.

    Args:
        address: Streamlit's ``server.address``: an IP, a host name, or ``""``/``None``
            (Streamlit's default: every interface).

    Returns:
        True for ``localhost`` and loopback IPs (127.0.0.0/8, ::1); False for anything
        else, including ``""`` and ``0.0.0.0`` (every interface) and unknown names.
    """
    if not address:
        return False
    address = address.strip().strip("[]")
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def requires_sign_in(*, server_address: str | None, serve: str | None, users_file_exists: bool) -> bool:
    """Whether the dashboard runs in team mode (every visitor signs in).

    Args:
        server_address: Streamlit's ``server.address`` (see :func:`is_loopback`).
        serve: the ``SIEVE_SERVE`` environment variable (``"team"`` turns team mode on;
            nothing turns it off on a non-loopback address).
        users_file_exists: whether the user file exists (once accounts exist, they are used).

    Returns:
        True unless the server is loopback-only, ``SIEVE_SERVE`` is not ``"team"`` and
        there is no user file.
    """
    return ((serve or "").strip().lower() == "team" or not is_loopback(server_address)
            or users_file_exists)


def can(role: str | None, permission: str) -> bool:
    """Whether ``role`` has ``permission`` (an unknown role has none)."""
    return permission in PERMISSIONS.get(role or "", frozenset())
