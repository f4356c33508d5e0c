"""Capacity: members as the apps use Aurum, ramped up until the service is full, against the
trivial authenticated GET on the same workers, in one run.

    .venv/bin/python bench/load.py [--levels 10,20,30,40,60,80,100,150,200]
                                   [--step-seconds 30]
                                   [--workers 2]

PostgreSQL (`aurum_bench_load`, seeded once with `seed_demo --profiles 5000`), Redis (database
14), `--workers` uvicorn processes; the client spreads its connections over them as nginx's
least_conn would.

0. Warm-up: every member opens the feed and the dashboard once on each worker (statements
   compiled, first pages cached, as in a service that has been up a while).
1. The floor: 16 connections ask `GET auth/me` (JWT, one query, JSON) back to back for
   `--step-seconds`: the most requests a second these workers answer.
2. The ramp: members join a few at a time (spread over 5 s), up to each of `--levels` in turn,
   each level held for `--step-seconds`. Each member, with 0.5-1.5 s between actions as a
   person has: opens the feed, searches, opens a profile from what they saw, looks at the
   dashboard and notifications, and now and then sends an interest. Beside them, 20 pairs
   with an accepted interest chat over /ws/chat (one message every 3 s per pair, delivered to
   the other); a slow handshake is retried and counted, never the end of the run.

Printed per level: requests/s, p50/p95/p99 and statuses per operation, chat delivery. The
capacity point is the busiest level with every operation's p99 <= 1 s and no error.
Targets there: requests/s >= 35 % of the floor's, 0 errors, p99 <= 1 s.
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
CHAT_EVERY_IN_FLIGHT = CHAT_PAIRS  # a level's last messages may arrive after it is closed
FLOOR_CLIENTS = 16
RAMP_SECONDS = 5.0
REQUEST_TIMEOUT = 30.0


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
    """What one phase saw: request times and statuses per operation, and chat's figures."""

    def __init__(self) -> None:
        self.handshake_retries = 0
        self.reset()

    def reset(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.chat_latency: list[float] = []
        self.chat_sent = 0
        self.chat_errors = 0
        self.started = time.perf_counter()
        self.elapsed = 0.0

    def record(self, operation: str, status: int, took: float) -> None:
        self.times[operation].append(took)
        self.statuses[operation][status] += 1

    def close(self) -> Stats:
        """A copy of what was seen since `reset`, for the report (the live one goes on)."""
        done = Stats()
        done.times = {op: list(times) for op, times in self.times.items()}
        done.statuses = {op: dict(statuses) for op, statuses in self.statuses.items()}
        done.chat_latency = list(self.chat_latency)
        done.chat_sent, done.chat_errors = self.chat_sent, self.chat_errors
        done.handshake_retries = self.handshake_retries
        done.elapsed = time.perf_counter() - self.started
        return done

    def rate(self) -> float:
        return sum(len(times) for times in self.times.values()) / max(self.elapsed, 1e-9)

    def errors(self) -> int:
        bad = sum(
            n
            for s in self.statuses.values()
            for status, n in s.items()
            if status == 0 or status >= 300
        )
        lost = max(self.chat_sent - len(self.chat_latency) - CHAT_EVERY_IN_FLIGHT, 0)
        return bad + self.chat_errors + lost

    def failures(self) -> int:
        return sum(
            n
            for s in self.statuses.values()
            for status, n in s.items()
            if status == 0 or status >= 500
        )

    def fits(self) -> bool:
        worst = max((percentile(t, 99) for t in self.times.values() if t), default=0.0)
        return worst <= 1000 and self.errors() == 0


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


async def member(
    actor: dict[str, str], ports: list[int], stats: Stats, stop: asyncio.Event
) -> None:
    http = Http(random.choice(ports), actor["token"])
    seen: list[str] = []
    sent: set[str] = set()
    operations, weights = zip(*WEIGHTS.items(), strict=True)
    while not stop.is_set():
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
        status, data, took = await timed(http, method, path, body)
        if status == 0:
            http = Http(random.choice(ports), actor["token"])
        stats.record(operation, status, took)
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            seen = [r["profile_code"] for r in data["results"] if "profile_code" in r][:20] or seen
        await asyncio.sleep(random.uniform(0.5, 1.5))


async def timed(http: Http, method: str, path: str, body: Any) -> tuple[int, Any, float]:
    started = time.perf_counter()
    try:
        status, data = await asyncio.wait_for(http.request(method, path, body), REQUEST_TIMEOUT)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
        status, data = 0, None
    return status, data, (time.perf_counter() - started) * 1000


async def floor(actor: dict[str, str], ports: list[int], stats: Stats, stop: asyncio.Event) -> None:
    http = Http(random.choice(ports), actor["token"])
    while not stop.is_set():
        status, _, took = await timed(http, "GET", "/api/v1/auth/me", None)
        if status == 0:
            http = Http(random.choice(ports), actor["token"])
        stats.record("GET auth/me", status, took)


async def connect(url: str, stats: Stats) -> Any:
    """A chat socket, as an app opens one: a handshake that takes too long is retried after a
    pause (and counted), never the end of the run."""
    import websockets

    for attempt in range(5):
        try:
            return await websockets.connect(url, open_timeout=10)
        except (TimeoutError, OSError, websockets.InvalidHandshake):
            stats.handshake_retries += 1
            await asyncio.sleep(1 + attempt)
    return None


async def chat_pair(
    pair: dict[str, str], ports: list[int], stats: Stats, stop: asyncio.Event
) -> None:
    await asyncio.sleep(random.uniform(0, RAMP_SECONDS))  # pairs join over the ramp too
    sender = await connect(f"ws://127.0.0.1:{ports[0]}/ws/chat?token={pair['a']}", stats)
    receiver = await connect(f"ws://127.0.0.1:{ports[-1]}/ws/chat?token={pair['b']}", stats)
    if sender is None or receiver is None:
        stats.chat_errors += 1
        return
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
    while not stop.is_set():
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
        try:
            await asyncio.wait_for(stop.wait(), CHAT_EVERY)
        except TimeoutError:
            pass
    await asyncio.sleep(2)  # what is in flight arrives
    for task in reading:
        task.cancel()
    await sender.close()
    await receiver.close()


async def warm_up(actors: list[dict[str, str]], ports: list[int]) -> None:
    """Every member opens the feed and the dashboard once on each worker, as members who
    used the app before: each worker has compiled its statements (aurum.statements), and the
    first pages are cached, as in a service that has been up for a while."""
    queue: asyncio.Queue[tuple[dict[str, str], int]] = asyncio.Queue()
    for actor in actors:
        for port in ports:
            queue.put_nowait((actor, port))

    async def drain() -> None:
        while not queue.empty():
            actor, port = queue.get_nowait()
            http = Http(port, actor["token"])
            for path in ("/api/v1/matching/feed", "/api/v1/dashboard"):
                await timed(http, "GET", path, None)
            if http.writer is not None:
                http.writer.close()

    await asyncio.gather(*(drain() for _ in range(8)))


async def measure_floor(actors: list[dict[str, str]], ports: list[int], seconds: int) -> Stats:
    stop = asyncio.Event()
    stats = Stats()
    tasks = [asyncio.ensure_future(floor(a, ports, stats, stop)) for a in actors[:FLOOR_CLIENTS]]
    await asyncio.sleep(2)  # connections open, workers warm
    stats.reset()
    await asyncio.sleep(seconds)
    done = stats.close()
    stop.set()
    await asyncio.gather(*tasks)
    return done


async def ramp(
    actors: list[dict[str, str]],
    pairs: list[dict[str, str]],
    ports: list[int],
    levels: list[int],
    seconds: int,
) -> list[tuple[int, Stats]]:
    """Members join up to each level in turn; each level's figures are taken once all of its
    members are in (the stats of a level start after its ramp)."""
    stop = asyncio.Event()
    stats = Stats()
    tasks = [asyncio.ensure_future(chat_pair(pair, ports, stats, stop)) for pair in pairs]
    running = 0
    results: list[tuple[int, Stats]] = []
    for level in levels:
        joining = actors[running:level]
        for actor in joining:
            tasks.append(asyncio.ensure_future(member(actor, ports, stats, stop)))
            await asyncio.sleep(RAMP_SECONDS / max(len(joining), 1))
        running = level
        stats.reset()
        await asyncio.sleep(seconds)
        results.append((level, stats.close()))
        if not results[-1][1].fits():
            break  # past capacity: no need to pile on more
    stop.set()
    await asyncio.gather(*tasks)
    return results


def report(label: str, stats: Stats) -> None:
    print(f"{label}: {stats.rate():,.0f} requests/s over {stats.elapsed:.0f} s")
    print(
        f"  {'operation':18s} {'count':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s}  statuses"
    )
    for operation, times in sorted(stats.times.items()):
        print(
            f"  {operation:18s} {len(times):7d} {statistics.median(times):8.1f}"
            f" {percentile(times, 95):8.1f} {percentile(times, 99):8.1f}"
            f"  {dict(stats.statuses[operation])}"
        )
    lat = stats.chat_latency
    if stats.chat_sent:
        print(
            f"  chat: {stats.chat_sent} sent, {len(lat)} delivered, {stats.chat_errors} errors,"
            f" {stats.handshake_retries} handshakes retried; delivery p50"
            f" {percentile(lat, 50):.1f} ms, p99 {percentile(lat, 99):.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="10,20,30,40,60,80,100,150,200")
    parser.add_argument("--step-seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    levels = sorted(int(level) for level in args.levels.split(","))
    redis_url = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    url, env = postgres_setup("load.py", "aurum_bench_load")
    random.seed(7)
    actors, pairs = prepare(levels[-1])
    server_env = {
        **env,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "MATCHING_INTERESTS_PER_DAY": "100000",
        "JWT_ACCESS_MINUTES": "60",
    }
    print(
        f"machine: {machine()}; PostgreSQL + Redis; {args.workers} uvicorn workers;"
        f" levels {levels} members browsing, {len(pairs)} pairs chatting;"
        f" {args.step_seconds} s a level"
    )
    with ExitStack() as stack:
        ports = [stack.enter_context(server_process(server_env))[0] for _ in range(args.workers)]
        asyncio.run(warm_up(actors, ports))
        floor_stats = asyncio.run(measure_floor(actors, ports, args.step_seconds))
        report(f"floor  GET auth/me, {FLOOR_CLIENTS} connections back to back", floor_stats)
        steps = asyncio.run(ramp(actors, pairs, ports, levels, args.step_seconds))
    for level, stats in steps:
        report(f"mixed  {level} members", stats)
    fitting = [(level, stats) for level, stats in steps if stats.fits()]
    floor_rate = floor_stats.rate()
    if not fitting:
        print("check  no level fits (p99 <= 1 s, no error): MISSES")
        sys.exit(1)
    level, best = max(fitting, key=lambda step: step[1].rate())
    ratio = best.rate() / floor_rate
    worst = max(percentile(times, 99) for times in best.times.values())
    checks = [
        (f"capacity ({level} members) / floor requests/s", f"{ratio:6.0%}", ratio >= 0.35),
        ("errors at capacity", f"{best.errors():6d}", best.errors() == 0),
        ("worst p99 at capacity", f"{worst:4.0f} ms", worst <= 1000),
        (
            "5xx or no answer, any level",
            f"{sum(s.failures() for _, s in steps):6d}",
            not any(s.failures() for _, s in steps),
        ),
    ]
    print(f"floor {floor_rate:,.0f} requests/s; capacity {best.rate():,.0f} requests/s")
    for label, value, ok in checks:
        print(f"check  {label:45s} {value}  {'meets' if ok else 'MISSES'}")
    sys.exit(0 if all(ok for _, _, ok in checks) else 1)


if __name__ == "__main__":
    main()
