"""The installation's own signing key, for when SECRET_KEY is not given (outside production).

No key written in the repository may sign anything: a key anyone can read signs tokens that
log in as any member. So an installation without SECRET_KEY makes a random key the first
time it starts and keeps it in var/secret_key, readable by its owner only (0600), so that
tokens, sessions and signed URLs outlive a restart. Production never uses it: AURUM_ENV=prod
refuses to start without SECRET_KEY (aurum.settings).

Several processes may start at once (uvicorn workers, `manage.py` beside a server): the key
is written to a private temporary file and then hard-linked into place, which succeeds for
exactly one of them; the others read the winner's key. A reader never sees half a key.

Imported by aurum.settings, so nothing here may import Django's settings.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

MIN_LENGTH = 50  # as AURUM_ENV=prod demands of SECRET_KEY


class KeyFileError(Exception):
    """The key file exists but must not be used (others may read it, or it is no key)."""


def installation_key(path: Path) -> str:
    """The key kept at `path`, made there (0600, atomically) if there is none yet."""
    try:
        return _kept_or_made(path)
    except KeyFileError:
        raise
    except OSError as exc:  # a read-only or foreign var/: say what to do, not a traceback
        raise KeyFileError(
            f"cannot keep the installation's key in {path} ({exc.strerror or exc}): let this "
            "user write that directory, or set SECRET_KEY"
        ) from exc


def _kept_or_made(path: Path) -> str:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    # O_EXCL with mode 0600: the file is never readable by others, whatever the umask.
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(candidate, path)  # only one process's link succeeds
        except FileExistsError:
            pass  # another process made it first: theirs is the key
    finally:
        candidate.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path} can be read by others (mode {stat.filemode(mode)}): delete it (tokens "
            "signed with it stop working) or `chmod 600` it, or set SECRET_KEY"
        )
    key = path.read_text().strip()
    if len(key) < MIN_LENGTH:
        raise KeyFileError(f"{path} holds no key: delete it to get a new one, or set SECRET_KEY")
    return key
