"""Many members at once, as the apps use Aurum, against a production-like setup.

    .venv/bin/python bench/load.py [--members 100] [--seconds 300] [--workers 2]

PostgreSQL (`aurum_bench_load`, seeded once with `seed_demo --profiles 5000`), Redis (database
14), `--workers` uvicorn processes; the client spreads its connections over them as nginx's
least_conn would. Each member, with a second or so between actions as a person has: opens the
feed, searches, opens a profile from what they saw, looks at the
dashboard and notifications, and now and then sends an interest. Beside them, pairs with an
accepted interest chat over /ws/chat: one message every 3 s per pair, delivered to the other.

Printed: requests/s, p50/p95/p99 and errors per operation, chat messages delivered and their
latency. Target: 0 errors, 0 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from typing import Any

from common import machine, percentile, postgres_setup, server_process

WEIGHTS = {
    "GET feed": 20,
    "GET search": 25,
    "GET profile": 30,
    "GET dashboard": 10,
    "GET notifications": 10,
    "POST interest": 5,
}
CHAT_PAIRS = 20
CHAT_EVERY = 3.0


class Http:
    """One keep-alive HTTP/1.1 connection, as an app holds one."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        await self.writer.drain()
        assert self.reader is not None
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        if chunked:
            data = b""
            while size := int((await self.reader.readline()).strip(), 16):
                data += await self.reader.readexactly(size)
                await self.reader.readline()
            await self.reader.readline()
        else:
            data = await self.reader.readexactly(length)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, None


class Stats:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.chat_latency: list[float] = []
        self.chat_sent = 0
        self.chat_errors = 0


def prepare(members: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Seeded members to act (tokens) and chatting pairs (tokens and a conversation)."""
    from django.core.management import call_command
    from django.db.models import Q

    from accounts.models import User
    from accounts.services import tokens_issue
    from chat.models import Conversation
    from matching import services as matching
    from matching.models import Interest
    from profiles.models import Profile

    if Profile.objects.count() < 5000:
        call_command("seed_demo", profiles=5000, seed=7, verbosity=0)
    users = list(
        User.objects.filter(is_active=True, admin_approved=True, profile__isnull=False).order_by(
            "profile_code"
        )[: members + 2 * CHAT_PAIRS]
    )
    # Interests an earlier run sent would answer 409 (one per pair): each run starts clean.
    Interest.objects.filter(
        Q(sender__in=users[:members]) | Q(receiver__in=users[:members])
    ).delete()
    actors = [{"token": tokens_issue(user=u).access_token} for u in users[:members]]
    rest = users[members:]
    brides = [u for u in rest if u.profile.gender == "female"]
    grooms = [u for u in rest if u.profile.gender == "male"]
    pairs = []
    for bride, groom in list(zip(brides, grooms, strict=False))[:CHAT_PAIRS]:
        conversation = Conversation.objects.filter(
            member_low=min(bride.pk, groom.pk), member_high=max(bride.pk, groom.pk)
        ).first()
        if conversation is None:
            interest = matching.interest_send(sender=groom, receiver=bride)
            if interest.status != "accepted":
                matching.interest_accept(user=bride, interest=interest)
            conversation = Conversation.objects.get(
                member_low=min(bride.pk, groom.pk), member_high=max(bride.pk, groom.pk)
            )
        pairs.append(
            {
                "conversation": str(conversation.pk),
                "a": tokens_issue(user=groom).access_token,
                "b": tokens_issue(user=bride).access_token,
            }
        )
    return actors, pairs


async def member(actor: dict[str, str], ports: list[int], stats: Stats, until: float) -> None:
    http = Http(random.choice(ports), actor["token"])
    seen: list[str] = []
    sent: set[str] = set()
    operations, weights = zip(*WEIGHTS.items(), strict=True)
    while time.perf_counter() < until:
        operation = random.choices(operations, weights)[0]
        if operation == "GET feed":
            method, path, body = "GET", "/api/v1/matching/feed", None
        elif operation == "GET search":
            method, path, body = "GET", "/api/v1/matching/search?page_size=20", None
        elif operation == "GET profile" and seen:
            method, path, body = "GET", f"/api/v1/profiles/{random.choice(seen)}", None
        elif operation == "POST interest" and [c for c in seen if c not in sent]:
            target = random.choice([c for c in seen if c not in sent])
            sent.add(target)
            method, path, body = "POST", "/api/v1/matching/interests", {"to_profile": target}
        elif operation == "GET dashboard":
            method, path, body = "GET", "/api/v1/dashboard", None
        elif operation == "GET notifications":
            method, path, body = "GET", "/api/v1/notifications/", None
        else:
            method, path, body, operation = (
                "GET",
                "/api/v1/matching/search?page_size=20",
                None,
                "GET search",
            )
        started = time.perf_counter()
        try:
            status, data = await http.request(method, path, body)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            status, data = 0, None
            http = Http(random.choice(ports), actor["token"])
        stats.times[operation].append((time.perf_counter() - started) * 1000)
        stats.statuses[operation][status] += 1
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            seen = [r["profile_code"] for r in data["results"] if "profile_code" in r][:20] or seen
        await asyncio.sleep(random.uniform(0.5, 1.5))


async def chat_pair(pair: dict[str, str], ports: list[int], stats: Stats, until: float) -> None:
    import websockets

    sender = await websockets.connect(f"ws://127.0.0.1:{ports[0]}/ws/chat?token={pair['a']}")
    receiver = await websockets.connect(f"ws://127.0.0.1:{ports[-1]}/ws/chat?token={pair['b']}")
    sent_at: dict[str, float] = {}

    async def read() -> None:
        async for raw in receiver:
            frame = json.loads(raw)
            if frame.get("type") == "message.new":
                started = sent_at.pop(frame["message"]["client_id"], None)
                if started is not None:
                    stats.chat_latency.append((time.perf_counter() - started) * 1000)

    async def acks() -> None:
        async for raw in sender:
            if json.loads(raw).get("type") == "error":
                stats.chat_errors += 1

    reading = [asyncio.ensure_future(read()), asyncio.ensure_future(acks())]
    await asyncio.sleep(random.uniform(0, CHAT_EVERY))
    while time.perf_counter() < until:
        client_id = uuid.uuid4().hex
        sent_at[client_id] = time.perf_counter()
        await sender.send(
            json.dumps(
                {
                    "type": "message.send",
                    "conversation_id": pair["conversation"],
                    "body": "Shall we talk on Sunday?",
                    "client_id": client_id,
                }
            )
        )
        stats.chat_sent += 1
        await asyncio.sleep(CHAT_EVERY)
    await asyncio.sleep(2)
    for task in reading:
        task.cancel()
    await sender.close()
    await receiver.close()


async def run(
    actors: list[dict[str, str]], pairs: list[dict[str, str]], ports: list[int], seconds: int
) -> tuple[Stats, float]:
    stats = Stats()
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(member(actor, ports, stats, until) for actor in actors),
        *(chat_pair(pair, ports, stats, until) for pair in pairs),
    )
    return stats, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    redis_url = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    url, env = postgres_setup("load.py", "aurum_bench_load")
    random.seed(7)
    actors, pairs = prepare(args.members)
    server_env = {
        **env,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "MATCHING_INTERESTS_PER_DAY": "100000",
        "JWT_ACCESS_MINUTES": "60",
    }
    print(
        f"machine: {machine()}; PostgreSQL + Redis; {args.workers} uvicorn workers;"
        f" {len(actors)} members browsing, {len(pairs)} pairs chatting; {args.seconds} s"
    )
    with ExitStack() as stack:
        ports = [stack.enter_context(server_process(server_env))[0] for _ in range(args.workers)]
        stats, elapsed = asyncio.run(run(actors, pairs, ports, args.seconds))
    total = sum(len(times) for times in stats.times.values())
    errors = five_hundreds = 0
    print(f"{total / elapsed:,.0f} requests/s over {elapsed:.0f} s ({total:,} requests)")
    print(
        f"  {'operation':18s} {'count':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s}  statuses"
    )
    for operation, times in sorted(stats.times.items()):
        statuses = dict(stats.statuses[operation])
        bad = sum(n for status, n in statuses.items() if not 200 <= status < 300)
        errors += bad
        five_hundreds += sum(n for status, n in statuses.items() if status >= 500 or status == 0)
        print(
            f"  {operation:18s} {len(times):7d} {statistics.median(times):8.1f}"
            f" {percentile(times, 95):8.1f} {percentile(times, 99):8.1f}  {statuses}"
        )
    lat = stats.chat_latency
    print(
        f"  chat: {stats.chat_sent} sent, {len(lat)} delivered, {stats.chat_errors} errors;"
        f" delivery p50 {percentile(lat, 50):.1f} ms, p99 {percentile(lat, 99):.1f} ms"
    )
    errors += stats.chat_errors + (stats.chat_sent - len(lat))
    checks = [
        ("errors (non-2xx, chat errors, undelivered)", errors),
        ("5xx or no answer", five_hundreds),
    ]
    for label, value in checks:
        print(f"check  {label:45s} {value:6d}  {'meets' if value == 0 else 'MISSES'}")
    sys.exit(1 if any(value for _, value in checks) else 0)


if __name__ == "__main__":
    main()
