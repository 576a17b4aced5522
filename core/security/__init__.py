"""Who may use Sieve and what they may read: loopback vs team serving, user
accounts with hashed passwords and roles, and the folders server files may
come from. Nothing here imports Streamlit."""

from core.security.access import PERMISSIONS, ROLES, is_loopback, requires_sign_in
from core.security.paths import PathNotAllowedError, data_roots, resolve_allowed
from core.security.users import SignInError, User, UserFile, UserFileError, users_path

__all__ = [
    "PERMISSIONS", "ROLES", "PathNotAllowedError", "SignInError", "User", "UserFile", "UserFileError",
    "data_roots", "is_loopback", "requires_sign_in", "resolve_allowed", "users_path",
]
