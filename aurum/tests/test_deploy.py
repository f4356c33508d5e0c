"""deploy/: the nginx site passes `nginx -t` as shipped (with a throwaway certificate in place
of the real one), and the systemd unit starts the app's real ASGI entry point with flags
uvicorn knows."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture
def nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        pytest.skip("needs Debian's nginx-light (apt-get install)")
    return found


def test_the_nginx_site_is_valid(nginx, tmp_path):
    subprocess.run(
        [
            shutil.which("openssl") or "/usr/bin/openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=api.aurum.example",
            "-keyout",
            tmp_path / "key.pem",
            "-out",
            tmp_path / "cert.pem",
        ],
        check=True,
        capture_output=True,
    )
    site = (DEPLOY / "nginx" / "aurum.conf").read_text()
    site = site.replace(
        "/etc/letsencrypt/live/api.aurum.example/fullchain.pem", str(tmp_path / "cert.pem")
    )
    site = site.replace(
        "/etc/letsencrypt/live/api.aurum.example/privkey.pem", str(tmp_path / "key.pem")
    )
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    log_format = DEPLOY / "nginx" / "aurum-log-format.conf"
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n  access_log {tmp_path}/access.log;\n  include {log_format};\n"
        f"  include {tmp_path}/site.conf;\n}}\n"
    )

    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_the_worker_unit_runs_the_app_with_flags_uvicorn_knows():
    unit = (DEPLOY / "systemd" / "aurum@.service").read_text()
    command = re.search(r"ExecStart=(.+?)\n\S", unit.replace("\\\n", " "), re.S).group(1)
    flags = [word for word in command.split() if word.startswith("--")]
    uvicorn_help = subprocess.run(
        [str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "uvicorn"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert "aurum.asgi:application" in command
    assert flags and all(flag in uvicorn_help for flag in flags), flags
    assert "--no-proxy-headers" in flags  # the app reads X-Forwarded-* from TRUSTED_PROXIES
    env = (DEPLOY / "aurum.env.example").read_text()
    assert "TRUSTED_PROXIES=127.0.0.1" in env and "AURUM_ENV=prod" in env


def test_every_shipped_server_is_the_units_uvicorn_with_its_flags():
    from aurum.tests.test_servers import shipped_commands

    commands = shipped_commands()
    unit = commands["deploy/systemd"]

    for name, command in commands.items():
        assert command[0].rsplit("/", 1)[-1] == "uvicorn", (name, command)
        assert "aurum.asgi:application" in command, (name, command)
        flags = [word for word in command if word.startswith("--") and word not in HOST_PORT]
        assert flags == [w for w in unit if w.startswith("--") and w not in HOST_PORT], name


HOST_PORT = {"--host", "--port"}


def test_nginx_takes_a_body_as_large_as_the_app_does():
    from django.conf import settings

    site = (DEPLOY / "nginx" / "aurum.conf").read_text()
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", site).group(1))

    assert megabytes * 2**20 >= settings.REQUEST_MAX_BODY_BYTES


def test_compose_writes_no_key_of_its_own():
    import yaml

    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    app = compose["services"]["app"]["environment"]

    assert app["AURUM_ENV"] == "prod"  # which refuses to start without SECRET_KEY
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", app["SECRET_KEY"]), app["SECRET_KEY"]


def _celery_help(*command: str) -> str:
    celery = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "celery"
    return subprocess.run(
        [str(celery), "-A", "aurum", *command, "--help"], capture_output=True, text=True, check=True
    ).stdout


def test_the_celery_units_and_compose_run_every_queue_with_flags_celery_knows():
    import yaml

    queues = {"codes", "deliveries", "digests", "media", "schedules"}
    worker_help, beat_help = _celery_help("worker"), _celery_help("beat")
    worker = (DEPLOY / "systemd" / "aurum-worker@.service").read_text().replace("\\\n", " ")
    beat = (DEPLOY / "systemd" / "aurum-beat.service").read_text().replace("\\\n", " ")
    start = re.search(r"^ExecStart=(.+)$", worker, re.M).group(1).split()
    assert start[1:4] == ["-A", "aurum", "worker"]
    assert all(f.split("=")[0] in worker_help for f in start if f.startswith("--"))
    assert (
        set(re.search(r"^Environment=AURUM_WORKER_QUEUES=(\S+)$", worker, re.M).group(1).split(","))
        == queues
    )
    start = re.search(r"^ExecStart=(.+)$", beat, re.M).group(1).split()
    assert start[1:4] == ["-A", "aurum", "beat"]
    assert all(f.split("=")[0] in beat_help for f in start if f.startswith("--"))

    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    served: set[str] = set()
    for name in ("worker-codes", "worker"):
        command = compose["services"][name]["command"]
        assert command[:4] == ["celery", "-A", "aurum", "worker"]
        assert all(f.split("=")[0] in worker_help for f in command if f.startswith("--"))
        served |= set(
            next(f for f in command if f.startswith("--queues=")).split("=")[1].split(",")
        )
    assert served == queues
    assert compose["services"]["beat"]["command"][:4] == ["celery", "-A", "aurum", "beat"]
    from django.conf import settings

    assert {entry["options"]["queue"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= queues
