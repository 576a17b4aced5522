"""Sign-in, roles and the folders server files may come from, for the dashboard.

Local mode (``make run``: 127.0.0.1 only, no user file) has one user, the person at
the machine: no sign-in, every page (role ``admin``), the annotator name typed on
the Settings page. Team mode (:func:`team_mode`) asks every visitor to sign in
against the user file (:class:`core.security.UserFile`, Argon2id hashes), shows
only the pages their role allows (:func:`permitted`), makes each page check its
permission itself (:func:`require`), and writes every grade under the signed-in
name. Sign-in lasts for the browser tab's session (Streamlit's session state; no
cookie): a refresh asks again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import streamlit as st

from core.config import get_settings
from core.security import (
    PathNotAllowedError,
    User,
    UserFile,
    access,
    data_roots,
    requires_sign_in,
    resolve_allowed,
)
from dashboard import state
from dashboard.errors import error_boundary
from dashboard.widgets import end_page, escape_markdown

#: Session-state keys of the signed-in user and of the tab's owner (their owner is dashboard.state).
USER_KEY, OWNER_KEY = state.USER_KEY, state.OWNER_KEY
#: Seconds a failed sign-in waits before answering (slows password guessing).
FAILED_SIGN_IN_DELAY_S = 1.0


def users_file() -> UserFile:
    """The user file of this server (from the environment's data folder, never a session's)."""
    from core.security import users_path

    return UserFile(users_path(get_settings().data_dir))


def team_mode() -> bool:
    """Whether visitors must sign in: a non-loopback ``server.address``, ``SIEVE_SERVE=team``,
    or an existing user file (:func:`core.security.requires_sign_in`)."""
    return requires_sign_in(server_address=st.get_option("server.address"),
                            serve=os.environ.get("SIEVE_SERVE"), users_file_exists=users_file().exists())


def user() -> User | None:
    """The signed-in user (``None`` in local mode or before signing in)."""
    return state.user()


def role() -> str | None:
    """The session's role: ``"admin"`` in local mode, the user's role in team mode, else ``None``."""
    if not team_mode():
        return "admin"
    u = user()
    return u.role if u is not None else None


def can(permission: str) -> bool:
    """Whether this session may do ``permission`` (see :data:`core.security.PERMISSIONS`)."""
    return access.can(role(), permission)


def require(permission: str) -> None:
    """First line of a page: end it with a message unless this session has ``permission``."""
    if not can(permission):
        st.error(f"Your role ({escape_markdown(role() or 'not signed in')}) may not use this page.",
                 icon=":material/block:")
        end_page()


def check(permission: str, action: str) -> None:
    """Raise :class:`core.security.PathNotAllowedError` (shown by the error boundary) unless
    this session has ``permission``; for actions inside a page (``action``: what was tried)."""
    if not can(permission):
        raise PathNotAllowedError(f"Your role ({role() or 'not signed in'}) may not {action}.",
                                  hint="Ask an administrator.")


def roots() -> list[Path]:
    """Folders server files may be read from (``SIEVE_DATA_ROOTS``; defaults in
    :func:`core.security.data_roots`)."""
    return data_roots(data_dir=get_settings().data_dir, team=team_mode())


def allowed_path(path: str) -> Path:
    """``path`` resolved inside the allowed folders, for every role.

    Raises:
        core.security.PathNotAllowedError: ``..``, outside every root, or a link out of them.
    """
    return resolve_allowed(path, roots())


def sign_in_page() -> None:
    """The only page a visitor sees in team mode before signing in."""
    st.title("Sign in")
    uf = users_file()
    if not uf.exists():
        st.warning("This server has no accounts yet. On the server, create an administrator with "
                   "`python -m core users add NAME --role admin`, then sign in here.", icon=":material/lock:")
        return
    with st.form("sign-in", clear_on_submit=True):
        name = st.text_input("User name", key="auth.name", autocomplete="username")
        password = st.text_input("Password", type="password", key="auth.password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        signed_in = None
        with error_boundary("signing in"):
            try:
                signed_in = uf.verify(name.strip(), password)
            except Exception:
                time.sleep(FAILED_SIGN_IN_DELAY_S)
                raise
        if signed_in is not None:
            state.set_user(signed_in)
            st.rerun()


def gate() -> None:
    """In team mode, show only the sign-in page until someone signs in (then stop the run).

    A signed-in user removed from the user file is signed out, and one whose role
    changed gets the new role, at their next interaction. The signed-in name is also
    put where :mod:`dashboard.remember` looks for the owner of the tab's session file
    (``sieve.user_name``), so each person reopens only their own work."""
    if not team_mode():
        return
    u = user()
    current = users_file().users().get(u.name) if u is not None else None
    if current is not None:
        state.set_user(current)
        return
    state.set_user(None)
    st.navigation([st.Page(sign_in_page, title="Sign in", icon=":material/login:", url_path="sign-in")]).run()
    st.stop()


def permitted(pages: list[tuple[st.Page, str]]) -> list:
    """The pages this session may open, from ``(page, permission)`` pairs."""
    return [page for page, permission in pages if can(permission)]


def annotator_name(typed: str) -> str:
    """Who grades: the signed-in user in team mode, else the name typed on the Settings page."""
    u = user()
    return u.name if team_mode() and u is not None else typed


def sidebar() -> None:
    """Who is signed in, and a sign-out button (team mode only)."""
    u = user()
    if u is None or not team_mode():
        return
    st.caption(f"Signed in as **{escape_markdown(u.name)}** ({escape_markdown(u.role)})")
    if st.button("Sign out", key="auth.sign_out", icon=":material/logout:"):
        state.clear_session()
        st.rerun()
