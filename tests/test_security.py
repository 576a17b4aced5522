"""core.security: allowed folders for server files, loopback detection, the user file and its CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.security import (
    PathNotAllowedError,
    SignInError,
    UserFile,
    UserFileError,
    data_roots,
    is_loopback,
    requires_sign_in,
    resolve_allowed,
)
from core.security.access import can

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def roots(tmp_path):
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "sub" / "posts.csv").write_text("id,text\n1,a\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    return allowed, outside


def test_a_file_inside_a_root_resolves_absolute_or_relative(roots):
    allowed, _ = roots
    want = (allowed / "sub" / "posts.csv").resolve()
    assert resolve_allowed(str(allowed / "sub" / "posts.csv"), [allowed]) == want
    assert resolve_allowed("sub/posts.csv", [allowed]) == want, "relative = relative to the first root"
    assert resolve_allowed(f'"{allowed / "sub" / "posts.csv"}"', [allowed]) == want, "quotes pasted around"


def test_an_absolute_path_outside_every_root_is_refused_naming_it_and_the_roots(roots):
    allowed, outside = roots
    with pytest.raises(PathNotAllowedError) as info:
        resolve_allowed(str(outside / "secret.txt"), [allowed])
    msg = str(info.value)
    assert "secret.txt" in msg and str(allowed.resolve()) in msg and "SIEVE_DATA_ROOTS" in msg
    with pytest.raises(PathNotAllowedError):
        resolve_allowed("/etc/passwd", [allowed])


def test_dot_dot_is_refused_even_when_it_would_land_inside(roots):
    allowed, _ = roots
    for path in ("../outside/secret.txt", str(allowed / "sub" / ".." / "sub" / "posts.csv"), "sub/../sub/posts.csv"):
        with pytest.raises(PathNotAllowedError, match=r"'\.\.'"):
            resolve_allowed(path, [allowed])


def test_a_symlink_leaving_the_roots_is_refused_and_one_inside_is_followed(roots):
    allowed, outside = roots
    (allowed / "escape.txt").symlink_to(outside / "secret.txt")
    (allowed / "outdir").symlink_to(outside, target_is_directory=True)
    (allowed / "alias.csv").symlink_to(allowed / "sub" / "posts.csv")
    with pytest.raises(PathNotAllowedError, match="symbolic link"):
        resolve_allowed(str(allowed / "escape.txt"), [allowed])
    with pytest.raises(PathNotAllowedError):
        resolve_allowed("outdir/secret.txt", [allowed])
    assert resolve_allowed("alias.csv", [allowed]) == (allowed / "sub" / "posts.csv").resolve()


def test_a_prefix_that_is_not_a_folder_boundary_is_outside(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data-other").mkdir()
    with pytest.raises(PathNotAllowedError):
        resolve_allowed(str(tmp_path / "data-other" / "x.csv"), [tmp_path / "data"])


def test_no_roots_or_no_path_is_refused(tmp_path):
    with pytest.raises(PathNotAllowedError, match="no folder is allowed"):
        resolve_allowed(str(tmp_path / "x.csv"), [])
    with pytest.raises(PathNotAllowedError, match="No path"):
        resolve_allowed("  ", [tmp_path])


def test_default_roots_local_vs_team_and_the_environment_override(tmp_path):
    data = tmp_path / "data"
    local = data_roots(data_dir=data, team=False, env={})
    team = data_roots(data_dir=data, team=True, env={})
    assert data.resolve() in local and Path.home().resolve() in local
    assert data.resolve() in team and Path.home().resolve() not in team
    assert any(r.name == "sample_data" for r in team)
    env = {"SIEVE_DATA_ROOTS": os.pathsep.join([str(tmp_path / "a"), "", str(tmp_path / "b")])}
    assert data_roots(data_dir=data, team=True, env=env) == [(tmp_path / "a").resolve(), (tmp_path / "b").resolve()]


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("127.0.1.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("", False), (None, False), ("0.0.0.0", False), ("::", False), ("192.0.2.2", False), ("example.org", False),
])
def test_is_loopback(address, loopback):
    assert is_loopback(address) is loopback


def test_sign_in_is_required_on_a_network_address_with_serve_team_or_once_users_exist():
    assert not requires_sign_in(server_address="127.0.0.1", serve=None, users_file_exists=False)
    assert requires_sign_in(server_address="0.0.0.0", serve=None, users_file_exists=False)
    assert requires_sign_in(server_address="0.0.0.0", serve="local", users_file_exists=False), "no opt-out"
    assert requires_sign_in(server_address="127.0.0.1", serve="team", users_file_exists=False)
    assert requires_sign_in(server_address="127.0.0.1", serve=None, users_file_exists=True)


def test_roles_annotator_only_grades_their_queue():
    assert can("annotator", "my_queue")
    assert not any(can("annotator", p) for p in ("data", "settings", "rerank", "review", "assign", "server_files"))
    assert can("analyst", "assign") and can("analyst", "review") and not can("analyst", "settings")
    assert not can("analyst", "server_files")
    assert can("admin", "settings") and can("admin", "server_files")
    assert not can(None, "my_queue") and not can("root", "data")


def test_user_file_keeps_only_argon2_hashes_and_verifies(tmp_path):
    uf = UserFile(tmp_path / "users.json")
    assert not uf.exists()
    uf.add("ana", "correct horse", role="annotator")
    raw = (tmp_path / "users.json").read_text()
    assert "correct horse" not in raw and "$argon2id$" in raw
    assert stat.S_IMODE((tmp_path / "users.json").stat().st_mode) == 0o600
    assert uf.verify("ana", "correct horse").role == "annotator"
    with pytest.raises(SignInError) as wrong_pw:
        uf.verify("ana", "wrong horse")
    with pytest.raises(SignInError) as no_user:
        uf.verify("nobody", "correct horse")
    assert str(wrong_pw.value) == str(no_user.value), "the message does not say which was wrong"


def test_user_file_refuses_bad_names_roles_short_passwords_and_duplicates(tmp_path):
    uf = UserFile(tmp_path / "users.json")
    with pytest.raises(UserFileError, match="user name"):
        uf.add("../x", "password1", role="admin")
    with pytest.raises(UserFileError, match="role"):
        uf.add("x", "password1", role="root")
    with pytest.raises(UserFileError, match="at least 8"):
        uf.add("x", "short", role="admin")
    uf.add("x", "password1", role="admin")
    with pytest.raises(UserFileError, match="exists"):
        uf.add("x", "password2", role="analyst")
    uf.add("x", "password2", role="analyst", replace=True)
    assert uf.verify("x", "password2").role == "analyst"
    uf.remove("x")
    assert uf.users() == {}


def test_a_broken_user_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "users.json"
    path.write_text("{not json")
    with pytest.raises(UserFileError, match="users.json"):
        UserFile(path).users()


def test_cli_adds_a_user_with_the_password_from_stdin(tmp_path):
    env = {**os.environ, "SIEVE_DATA_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "core", "users", "add", "ana", "--role", "annotator"],
                         input="s3cret-pass\n", text=True, capture_output=True, cwd=REPO, env=env, check=False)
    assert run.returncode == 0, run.stderr
    data = json.loads((tmp_path / "users.json").read_text())
    assert data["users"]["ana"]["role"] == "annotator"
    assert UserFile(tmp_path / "users.json").verify("ana", "s3cret-pass").name == "ana"
    listed = subprocess.run([sys.executable, "-m", "core", "users", "list"], text=True, capture_output=True,
                            cwd=REPO, env=env, check=False)
    assert listed.stdout.strip() == "ana\tannotator"
    bad = subprocess.run([sys.executable, "-m", "core", "users", "add", "bo", "--role", "annotator"],
                         input="short\n", text=True, capture_output=True, cwd=REPO, env=env, check=False)
    assert bad.returncode == 2 and "at least 8" in bad.stderr
