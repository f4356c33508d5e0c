"""The servers as shipped: each one is started as a subprocess with the very command line of
the Makefile (`make run`, as `make -n` prints it), the Dockerfile's CMD, docker-compose's app
command and deploy/'s systemd unit (read from their files here; the same command line is
started once), then sent what an anonymous client can send.

- A 64 MB multipart body (announced, and chunked) is refused with the API's 413 and costs
  the server at most twice its size in memory (daphne, which `make run`, the Dockerfile and
  compose used to start, parsed it into about 900 MB).
- A body within the limit still reaches the app, and so does a WebSocket.
- Nothing the server logs carries a token or a signature from a URL.

The environment is the embedded default's (a throwaway SQLite file): what is measured is the
server in front of the app, which is the same in every environment.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from PIL import Image

from aurum.bodylimit import TOO_LARGE

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
BODY = 64 * 1024 * 1024
BOUNDARY = "aurum-probe-boundary"


def shipped_commands() -> dict[str, list[str]]:
    """The server command line of each way the project starts one, as its file spells it."""
    make = subprocess.run(
        [shutil.which("make") or "make", "-s", "-n", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    compose_script = compose["services"]["app"]["command"][-1]
    compose_server = shlex.split(compose_script.split("&&")[-1])
    unit = (ROOT / "deploy" / "systemd" / "aurum@.service").read_text().replace("\\\n", " ")
    return {
        "make run": shlex.split(make.strip().splitlines()[-1]),
        "Dockerfile": json.loads(re.search(r"^CMD (\[.*\])\s*$", dockerfile, re.M).group(1)),
        "docker-compose": compose_server[1:] if compose_server[0] == "exec" else compose_server,
        "deploy/systemd": shlex.split(re.search(r"^ExecStart=(.+)$", unit, re.M).group(1)),
    }


PORT_PLACEHOLDER = "{port}"


def normalised(command: list[str]) -> tuple[str, ...]:
    """`command` on this machine: this virtualenv's programs, loopback, a port to fill in."""
    out: list[str] = []
    for index, word in enumerate(command):
        before = command[index - 1] if index else ""
        name = word.rsplit("/", 1)[-1]
        if name in {"python", "python3"}:
            word = sys.executable
        elif name in {"daphne", "uvicorn", "gunicorn", "hypercorn"}:
            word = str(BIN / name)
        elif before in {"-p", "--port"}:
            word = PORT_PLACEHOLDER
        elif before in {"-b", "--bind", "--host"}:
            word = "127.0.0.1"
        out.append(word)
    return tuple(out)


def distinct_servers() -> dict[str, tuple[str, ...]]:
    """One entry per distinct command line, named by every file that ships it."""
    by_command: dict[tuple[str, ...], list[str]] = {}
    for name, command in shipped_commands().items():
        by_command.setdefault(normalised(command), []).append(name)
    return {" = ".join(names): command for command, names in by_command.items()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Shipped:
    def __init__(self, command: tuple[str, ...], tmp: Path) -> None:
        self.port = free_port()
        self.command = [word.replace(PORT_PLACEHOLDER, str(self.port)) for word in command]
        self.log = tmp / "server.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "AURUM_ENV", "DEBUG", "LOG_LEVEL"}
        }
        env.update(
            DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
            SECRET_KEY=secrets.token_urlsafe(64),
            PYTHONUNBUFFERED="1",  # as the Dockerfile sets it: lines reach the log at once
        )
        self.env = env
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"{self.command} did not answer /health in 60 s")

    def memory(self, field: str) -> int:
        """VmRSS (now) or VmHWM (the peak so far) of the server process, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field} for {self.process.pid}")

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.log.read_text()


SERVERS = distinct_servers()


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if not Path("/proc/self/status").exists():
        pytest.skip("reads the server's memory from /proc (Linux)")
    shipped = Shipped(SERVERS[request.param], tmp_path_factory.mktemp("server"))
    yield shipped
    shipped.stop()


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed before an answer: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    while length and len(body) < int(length.group(1)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split()[1]), body


def post_multipart(port: int, size: int, chunked: bool) -> tuple[int, bytes]:
    """An anonymous multipart POST /health of `size` bytes of file, sent as a client does:
    the whole body first (refused early or not), then the answer."""
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    end = f"\r\n--{BOUNDARY}--\r\n".encode()
    framing = (
        "Transfer-Encoding: chunked"
        if chunked
        else f"Content-Length: {len(part) + size + len(end)}"
    )
    head = (
        f"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{framing}\r\n\r\n"
    ).encode()
    block = b"\xff" * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        send: Callable[[bytes], None] = (
            (lambda data: sock.sendall(b"%x\r\n%s\r\n" % (len(data), data)))
            if chunked
            else sock.sendall
        )
        try:
            sock.sendall(head)
            send(part)
            for _ in range(size // len(block)):
                send(block)
            send(end)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed after answering: the answer is still there to read
        return read_response(sock)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_anonymous_64_mb_body_is_refused_and_never_held_in_memory(server, chunked):
    before = server.memory("VmRSS")

    status, body = post_multipart(server.port, BODY, chunked)

    grown = server.memory("VmHWM") - before
    assert grown <= 2 * BODY, f"{server.command}: +{grown / 2**20:.0f} MB for a 64 MB body"
    assert (status, json.loads(body)) == (413, TOO_LARGE), (server.command, status, body)
    assert server.process.poll() is None


MEMBER = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from accounts.services import tokens_issue
from profiles.tests.factories import make_member
print(tokens_issue(user=make_member().user).access_token)
"""


@pytest.fixture(scope="module")
def member_token(server) -> str:
    """An access token of a member in the server's database (migrated here, as deploys do)."""
    done = subprocess.run(
        [sys.executable, "-c", MEMBER],
        cwd=ROOT,
        env={**server.env, "DJANGO_SETTINGS_MODULE": "aurum.settings"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


def photo_of(size: int) -> bytes:
    """A JPEG of exactly `size` bytes: noise (which compresses to about 4 bytes a pixel),
    then filler after its end marker, which decoders ignore."""
    pixels = max(64, int((size * 0.8 / 4) ** 0.5))
    noise = Image.frombytes("RGB", (pixels, pixels), os.urandom(pixels * pixels * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=100, subsampling=0)
    data = out.getvalue()
    assert len(data) <= size
    return data + b"\0" * (size - len(data))


def test_a_photo_as_large_as_the_upload_limit_still_uploads(server, member_token):
    from django.conf import settings

    photo = photo_of(settings.MEDIA_MAX_UPLOAD_BYTES)
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)

    conn.request(
        "POST",
        "/api/v1/media/upload",
        body=body,
        headers={
            "Authorization": f"Bearer {member_token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
    )
    response = conn.getresponse()

    assert response.status == 201, response.read()[:2000]
    assert json.loads(response.read())["status"] == "pending"


SECRETS = {
    "token": "tok3nValueThatMustNotBeLogged",
    "signature": "5167a1c0ffee5167a1c0ffee5167a1c0ffee5167a1c0ffee",
    "amz_signature": "feedbeef0123456789feedbeef0123456789feedbeef",
    "amz_credential": "AKIAPROBECREDENTIAL",
}


def test_websockets_pass_and_nothing_the_server_logs_carries_a_token_or_a_signature(server):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    def get(path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", path)
        return conn.getresponse().status

    get(f"/health?token={SECRETS['token']}")
    get(f"/files/photos/probe/tiny.webp?e=4102444800&s={SECRETS['signature']}")
    get(
        "/files/photos/probe/full.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={SECRETS['amz_credential']}%2F20261202%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Signature={SECRETS['amz_signature']}"
    )
    with connect(
        f"ws://127.0.0.1:{server.port}/ws/chat?token={SECRETS['token']}", open_timeout=10
    ) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    # The socket reached the app, which closed it: an unknown token is no member.
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    time.sleep(0.5)  # the server writes its lines

    logged = server.log.read_text()

    assert "/files/" in logged and "/ws/chat" in logged, logged  # the requests were logged
    leaked = [name for name, value in SECRETS.items() if value in logged]
    assert not leaked, f"{server.command} logged {leaked}:\n{logged}"
