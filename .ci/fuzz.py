"""Schemathesis against the running app: every operation of /api/schema/, generated requests
(valid and invalid), every check (no 5xx, responses that match the schema, statuses the
schema documents, bad input refused, good input accepted), as a member and as staff.

    .venv/bin/python .ci/fuzz.py [--examples 100]

Runs the app under uvicorn on a throwaway SQLite database with members, a conversation and
staff made for it (rate limits lifted: the fuzzer is one client sending thousands of
requests), then `schemathesis run` once with a member's token and once with a moderator's
for the staff operations. Exit status: schemathesis's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAFF_OPERATIONS = r"^/api/v1/(onboarding|moderation)/admin/"

SETUP = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from accounts.services import tokens_issue
from accounts.tests.factories import make_moderator
from chat.models import Conversation
from chat.services import message_send
from matching import services as matching
from profiles.tests.factories import make_groom, make_member

from moderation.services import report_create
from notifications.services import device_register

member, groom, other = make_member(), make_groom(), make_groom()
interest = matching.interest_send(sender=groom.user, receiver=member.user)
matching.interest_accept(user=member.user, interest=interest)
pending_interest = matching.interest_send(sender=other.user, receiver=member.user)
conversation = Conversation.objects.get()
message, _ = message_send(sender=member.user, body="Namaskaram", client_id="fuzz-1",
                          conversation_id=conversation.pk)
report = report_create(reporter=member.user, reported=other.user, reason="fake_profile")
device_register(user=member.user, token="fuzz-device-token", platform="android")
print(json.dumps({
    "member": tokens_issue(user=member.user).access_token,
    "moderator": tokens_issue(user=make_moderator()).access_token,
    # Real ids for path parameters, so generated requests reach past "not found".
    "parameters": {
        "path.user_id": str(member.user.pk),
        "path.public_id": groom.user.profile_code,
        "path.profile_id": other.user.profile_code,
        "path.conversation_id": str(conversation.pk),
        "path.message_id": message.pk,
        "path.interest_id": str(pending_interest.pk),
        "path.report_id": str(report.pk),
        "path.token": "fuzz-device-token",
    },
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aurum-fuzz-"))
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "aurum.settings",
        "DATABASE_URL": f"sqlite:///{work / 'fuzz.sqlite3'}",
        "MEDIA_ROOT": str(work / "media"),
        "AURUM_ENV": "dev",
        "DEBUG": "0",
        "LOG_LEVEL": "CRITICAL",
        "JWT_ACCESS_MINUTES": "600",
        "SMS_BACKEND": "deliveries.backends.LogSms",
        "TURN_SECRET": "fuzz-turn-secret",
        "TURN_URIS": "turn:turn.aurum.example:3478",
        # One client sending thousands of requests: limits would answer most of them 429.
        "RATELIMIT_ENABLE": "0",
        # Every compiled statement's rows are compared with the ORM's: a difference is a 500.
        "AURUM_STATEMENTS_CHECK": "1",
        "PYTHONPATH": str(ROOT),
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    made = subprocess.run(
        [python, "-c", SETUP], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    tokens = json.loads(made.stdout.strip().splitlines()[-1])
    (work / "schemathesis.toml").write_text(
        "[parameters]\n"
        + "".join(f"{json.dumps(k)} = {json.dumps(v)}\n" for k, v in tokens["parameters"].items())
    )
    port = 8765
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "uvicorn"),
            "aurum.asgi:application",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        status = 0
        for who, selection in (
            ("member", ["--exclude-path-regex", STAFF_OPERATIONS]),
            ("moderator", ["--include-path-regex", STAFF_OPERATIONS]),
        ):
            print(f"\n== schemathesis as {who}", flush=True)
            run = subprocess.run(
                [
                    str(ROOT / ".venv" / "bin" / "schemathesis"),
                    "run",
                    f"{base}/api/schema/",
                    "--header",
                    f"Authorization: Bearer {tokens[who]}",
                    "--checks",
                    "all",
                    # A schema-valid request may still be refused for what OpenAPI cannot
                    # say: a wrong password, a phone number that is not one, an opaque
                    # cursor, after= and before= together, MFA not started. Every other
                    # check runs, on every operation.
                    "--exclude-checks",
                    "positive_data_acceptance",
                    "--max-examples",
                    str(args.examples),
                    "--generation-deterministic",
                    "--no-color",
                    *selection,
                ],
                cwd=work,
            )
            status = status or run.returncode
        return status
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
