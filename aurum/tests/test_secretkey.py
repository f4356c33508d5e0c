"""Without SECRET_KEY nothing written in the repository signs anything: the installation makes
its own key (var/secret_key, 0600, made once even by processes starting together) and keeps it
across restarts; production still refuses to start without SECRET_KEY (test_wiring)."""

from __future__ import annotations

import ast
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aurum.secretkey import KeyFileError, installation_key

ROOT = Path(__file__).resolve().parents[2]
KEY_FILE = ROOT / "var" / "secret_key"
GIT = shutil.which("git") or "git"
WORD = re.compile(r"[^\s'\"`]{8,}")


def repository_strings() -> set[str]:
    """Every string a reader of the repository finds: each word of every tracked file (and
    its parts between `=`, `:`, commas and brackets), and every string literal in its code."""
    listed = subprocess.run(
        [GIT, "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    found: set[str] = set()
    for name in filter(None, listed.split("\0")):
        try:
            text = (ROOT / name).read_text()
        except (UnicodeDecodeError, OSError):
            continue  # binary, or deleted in the work tree
        for word in WORD.findall(text):
            found.add(word)
            found.update(p for p in re.split(r"[=:,;()\[\]{}<>]", word) if len(p) >= 8)
        if name.endswith(".py"):
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.update({node.value, node.value.strip()})
    found.discard("")
    return found


# Run in a fresh process, as a server starts: which of the strings on stdin sign an access
# token that the API's authentication accepts?
SIGNERS = """
import base64, hashlib, hmac, json, sys, time, uuid
import django
django.setup()
from django.conf import settings
from accounts.authentication import TokenAuthentication

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")

now = int(time.time())
claims = {"token_type": "access", "exp": now + 600, "iat": now, "jti": uuid.uuid4().hex,
          "user_id": str(uuid.uuid4())}
signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(json.dumps(claims).encode())
auth = TokenAuthentication()

def accepted(key):
    signature = hmac.new(key.encode(errors="surrogatepass"), signing_input, hashlib.sha256).digest()
    try:
        auth.get_validated_token(signing_input + b"." + b64(signature))
    except Exception:
        return False
    return True

digest = lambda key: hashlib.sha256(key.encode()).hexdigest()
print(json.dumps({
    "secret_key": digest(settings.SECRET_KEY),
    "signing_key": digest(settings.SIMPLE_JWT["SIGNING_KEY"]),
    "own_key_accepted": accepted(settings.SIMPLE_JWT["SIGNING_KEY"]),
    "accepted": [c for c in json.load(sys.stdin) if accepted(c)],
}))
"""


def start(extra_env: dict[str, str], candidates: set[str]) -> dict:
    dotenv = ROOT / ".env"
    sets_a_key = re.compile(r"(?m)^\s*(SECRET_KEY|JWT_SIGNING_KEY)\s*=")
    if dotenv.exists() and sets_a_key.search(dotenv.read_text()):
        pytest.skip("this checkout's .env sets a key: the installation's own is not used")
    unset = {"AURUM_ENV", "DEBUG", "SECRET_KEY", "JWT_SIGNING_KEY"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(DJANGO_SETTINGS_MODULE="aurum.settings", **extra_env)
    done = subprocess.run(
        [sys.executable, "-c", SIGNERS],
        cwd=ROOT,
        env=env,
        input=json.dumps(sorted(candidates)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_no_string_in_the_repository_signs_a_token_and_the_key_outlives_a_restart():
    candidates = repository_strings()
    assert len(candidates) > 1000  # the whole repository was read

    embedded = start({}, candidates)  # the embedded default
    dev_no_debug = start({"AURUM_ENV": "dev", "DEBUG": "0"}, candidates)  # a second start

    for started in (embedded, dev_no_debug):
        assert started["own_key_accepted"]  # the check can tell a signing key
        assert started["accepted"] == [], "strings from the repository sign tokens"
    kept = hashlib.sha256(KEY_FILE.read_text().strip().encode()).hexdigest()
    assert embedded["secret_key"] == embedded["signing_key"] == kept
    assert dev_no_debug["secret_key"] == kept  # the same key after a restart
    assert stat.S_IMODE(KEY_FILE.stat().st_mode) == 0o600
    ignored = subprocess.run([GIT, "check-ignore", "-q", str(KEY_FILE)], cwd=ROOT)
    assert ignored.returncode == 0, "var/secret_key must be ignored by git"


def _race(path: str, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue):
    barrier.wait()
    out.put(installation_key(Path(path)))


def test_processes_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "var" / "secret_key"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(8)
    out = context.Queue()
    racers = [context.Process(target=_race, args=(str(path), barrier, out)) for _ in range(8)]
    for racer in racers:
        racer.start()
    keys = {out.get(timeout=30) for _ in racers}
    for racer in racers:
        racer.join(timeout=30)

    assert len(keys) == 1 and len(keys.pop()) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary left


def test_the_key_is_made_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        key = installation_key(tmp_path / "secret_key")
    finally:
        os.umask(old)

    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert installation_key(tmp_path / "secret_key") == key


@pytest.mark.parametrize(
    ("mode", "content", "says"),
    [(0o644, "k" * 86, "can be read by others"), (0o600, "short", "holds no key")],
)
def test_a_key_file_others_can_read_or_without_a_key_is_refused(tmp_path, mode, content, says):
    path = tmp_path / "secret_key"
    path.write_text(content)
    path.chmod(mode)

    with pytest.raises(KeyFileError, match=says):
        installation_key(path)


def test_a_key_that_cannot_be_kept_is_refused_in_words(tmp_path):
    """A var/ that cannot hold the key (here a file where the directory should be) gives a
    sentence saying what to do, not an OS error's traceback."""
    blocker = tmp_path / "var"
    blocker.write_text("not a directory")
    with pytest.raises(KeyFileError, match="cannot keep the installation's key") as refused:
        installation_key(blocker / "secret_key")
    assert "set SECRET_KEY" in str(refused.value)
