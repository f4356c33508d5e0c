"""Chat through real server processes and Redis, against its floors, in one run.

    .venv/bin/python bench/chat.py [--pairs 50] [--messages 10000] [--rounds 3]
                                   [--layers pubsub,core] [--idle 1000]

Needs PostgreSQL and Redis: DATABASE_URL defaults to the `aurum_bench_chat` database on
127.0.0.1 (created if missing), REDIS_URL to Redis database 13. Members come in pairs with an
accepted interest, made once and reused.

For each channel layer asked (channels-redis's pub/sub layer and its core layer), two server
processes run the app; in every pair one member is connected to each server, so every message
crosses processes through Redis. Measured, one after the other (echo and chat take turns for
`--rounds` rounds and are compared by their medians):
  floor  Redis: a raw pub/sub round trip (redis-py), p50, and its throughput
  floor  layer: the same clients echoing frames through the channel layer, no database
         (bench/echo_asgi.py on two processes of its own): the layer's ceiling
  chat:  `message.send` on /ws/chat, stored and delivered as `message.new` to the other server;
         messages/s with a window of 8 in flight per pair, and latency at a steady 300 msg/s
  idle:  1,000 connections held open on one server process: its resident memory
Targets: chat >= 1,000 msg/s and >= 50% of the layer's ceiling; p99 <= 100 ms at 300 msg/s;
1,000 idle connections in one process with RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from common import machine, percentile, postgres_setup, rss_mb, server_process

WINDOW = 8  # messages in flight per pair
LOST_AFTER = 5.0  # seconds after which an undelivered frame counts as lost


def prepare(pairs: int) -> list[dict[str, str]]:
    """`pairs` couples with an accepted interest (so a conversation), with tokens."""
    from accounts.services import tokens_issue
    from accounts.tests.factories import UserFactory
    from chat.models import Conversation
    from matching import services as matching
    from profiles.tests.factories import make_groom, make_member

    missing = pairs - Conversation.objects.count()
    for n in range(max(0, missing)):
        tag = uuid.uuid4().hex[:12]  # unique across runs, unlike the factory's sequence
        bride = make_member(user=UserFactory(email=f"bride-{tag}@bench.aurum.test", phone=None))
        groom = make_groom(user=UserFactory(email=f"groom-{tag}@bench.aurum.test", phone=None))
        interest = matching.interest_send(sender=groom.user, receiver=bride.user)
        matching.interest_accept(user=bride.user, interest=interest)
        if n % 50 == 49:
            print(f"  pairs made: {n + 1}/{missing}", flush=True)
    from accounts.models import User

    found = []
    for conversation in Conversation.objects.order_by("created_at")[:pairs]:
        low, high = (
            User.objects.get(pk=pk) for pk in (conversation.member_low, conversation.member_high)
        )
        found.append(
            {
                "conversation": str(conversation.pk),
                "a": str(low.pk),
                "b": str(high.pk),
                "a_token": tokens_issue(user=low).access_token,
                "b_token": tokens_issue(user=high).access_token,
            }
        )
    return found


class Socket:
    """A WebSocket client whose frames go to `on_frame` as they arrive."""

    def __init__(self, url: str, on_frame: Callable[[str], None]) -> None:
        self.url, self.on_frame = url, on_frame

    async def open(self) -> Socket:
        import websockets

        self.ws = await websockets.connect(self.url, max_size=2**20, ping_interval=None)
        self.reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.on_frame(raw)
        except Exception:
            pass

    async def send(self, text: str) -> None:
        await self.ws.send(text)

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


class Run:
    """Messages sent and when they arrived, by id."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.latency: list[float] = []
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.last_arrival = 0.0
        self.seen: set[str] = set()

    def arrived(self, message_id: str) -> None:
        started = self.sent.get(message_id)
        if started is None or message_id in self.seen:
            return  # not ours, or a second arrival: counted once
        self.seen.add(message_id)
        self.last_arrival = time.perf_counter()
        self.latency.append((self.last_arrival - started) * 1000)
        waiter = self.waiting.pop(message_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def chat_receiver(run: Run) -> Callable[[str], None]:
    def on_frame(raw: str) -> None:
        if '"message.new"' in raw:
            run.arrived(json.loads(raw)["message"]["client_id"])

    return on_frame


def echo_receiver(run: Run) -> Callable[[str], None]:
    def on_frame(raw: str) -> None:
        run.arrived(json.loads(raw)["id"])

    return on_frame


def chat_frame(pair: dict[str, str], message_id: str) -> str:
    return json.dumps(
        {
            "type": "message.send",
            "conversation_id": pair["conversation"],
            "body": f"Hello from the benchmark, {message_id}",
            "client_id": message_id,
        }
    )


def echo_frame(pair: dict[str, str], message_id: str) -> str:
    return json.dumps(
        {"to": pair["b"], "id": message_id, "body": f"Hello from the benchmark, {message_id}"}
    )


async def connect_pairs(
    pairs: list[dict[str, str]], urls: tuple[str, str], mode: str, run: Run
) -> list[tuple[Socket, Socket]]:
    receiver = chat_receiver(run) if mode == "chat" else echo_receiver(run)
    sockets = []
    for index, pair in enumerate(pairs):
        # Senders alternate between the two servers, as real traffic would.
        a_server, b_server = urls[index % 2], urls[1 - index % 2]
        if mode == "chat":
            a_url = f"{a_server}/ws/chat?token={pair['a_token']}"
            b_url = f"{b_server}/ws/chat?token={pair['b_token']}"
        else:
            a_url, b_url = (
                f"{a_server}/ws/echo?me={pair['a']}",
                f"{b_server}/ws/echo?me={pair['b']}",
            )
        sockets.append(
            (await Socket(a_url, lambda raw: None).open(), await Socket(b_url, receiver).open())
        )
    await asyncio.sleep(0.5)  # presence frames of connecting settle
    return sockets


async def throughput(
    pairs: list[dict[str, str]], urls: tuple[str, str], mode: str, total: int
) -> tuple[float, int, Run]:
    """Messages/s delivered with WINDOW in flight per pair; and how many arrived."""
    run = Run()
    sockets = await connect_pairs(pairs, urls, mode, run)
    frame = chat_frame if mode == "chat" else echo_frame
    tag = uuid.uuid4().hex[:8]
    per_pair = total // len(pairs)
    loop = asyncio.get_running_loop()

    async def pair_loop(index: int) -> None:
        window = asyncio.Semaphore(WINDOW)
        in_flight: list[asyncio.Future[None]] = []
        sender = sockets[index][0]
        for n in range(per_pair):
            await window.acquire()
            message_id = f"{tag}-{index}-{n}"
            waiter: asyncio.Future[None] = loop.create_future()
            waiter.add_done_callback(lambda _: window.release())
            # A frame the layer dropped frees its place after a while; it counts as lost.
            loop.call_later(LOST_AFTER, lambda w=waiter: w.done() or w.set_result(None))
            run.waiting[message_id] = waiter
            in_flight.append(waiter)
            run.sent[message_id] = time.perf_counter()
            await sender.send(frame(pairs[index], message_id))
        await asyncio.gather(*in_flight)

    started = time.perf_counter()
    await asyncio.gather(*(pair_loop(i) for i in range(len(pairs))))
    elapsed = time.perf_counter() - started
    if len(run.latency) < len(run.sent):  # the lost ones held the end back: time to the last
        elapsed = max(run.last_arrival - started, 1e-9)
    for a, b in sockets:
        await a.close()
        await b.close()
    return len(run.latency) / elapsed, len(run.latency), run


async def paced(
    pairs: list[dict[str, str]], urls: tuple[str, str], mode: str, rate: int, seconds: int
) -> tuple[Run, int]:
    """A steady `rate` of messages across the pairs; latency of each delivery."""
    run = Run()
    sockets = await connect_pairs(pairs, urls, mode, run)
    frame = chat_frame if mode == "chat" else echo_frame
    tag = uuid.uuid4().hex[:8]
    total = rate * seconds
    started = time.perf_counter()
    for n in range(total):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        index = n % len(pairs)
        message_id = f"{tag}-{index}-{n}"
        run.sent[message_id] = time.perf_counter()
        await sockets[index][0].send(frame(pairs[index], message_id))
    deadline = time.perf_counter() + 10
    while len(run.latency) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    for a, b in sockets:
        await a.close()
        await b.close()
    return run, total


async def redis_floor(url: str, count: int) -> tuple[float, float]:
    """Raw pub/sub: p50 round trip of one message at a time, and messages/s with a window."""
    import redis.asyncio as redis

    publisher, subscriber = redis.from_url(url), redis.from_url(url)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe("bench.floor")
    await pubsub.get_message(timeout=1)
    trips = []
    for n in range(300):
        start = time.perf_counter()
        await publisher.publish("bench.floor", f"{n}")
        while (await pubsub.get_message(timeout=1)) is None:
            pass
        trips.append((time.perf_counter() - start) * 1000)
    received = 0

    async def read() -> None:
        nonlocal received
        while received < count:
            if await pubsub.get_message(timeout=1) is not None:
                received += 1

    reader = asyncio.get_running_loop().create_task(read())
    start = time.perf_counter()
    for n in range(count):
        await publisher.publish("bench.floor", f"{n}")
    await reader
    rate = count / (time.perf_counter() - start)
    await pubsub.aclose()
    await publisher.aclose()
    await subscriber.aclose()
    return statistics.median(trips), rate


async def idle(
    pairs: list[dict[str, str]], url: str, count: int, pid: int
) -> tuple[float, float, int]:
    """RSS of one server process before and with `count` connections held open."""
    before = rss_mb(pid)
    tokens = [token for pair in pairs for token in (pair["a_token"], pair["b_token"])]
    sockets = []
    for n in range(count):
        sockets.append(
            await Socket(f"{url}/ws/chat?token={tokens[n % len(tokens)]}", lambda raw: None).open()
        )
    await asyncio.sleep(3)
    held = rss_mb(pid)
    open_now = sum(1 for s in sockets if s.ws.state.name == "OPEN")
    for s in sockets:
        await s.close()
    return before, held, open_now


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--layers", default="pubsub,core")
    parser.add_argument("--idle", type=int, default=1000)
    args = parser.parse_args()

    redis_url = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    url, env = postgres_setup("chat.py", "aurum_bench_chat")
    from chat.models import Message

    pairs = prepare(max(args.pairs, args.idle // 2))
    talking = pairs[: args.pairs]
    server_env = {
        **env,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "RATE_CHAT_MESSAGE": "100000000/m",  # the benchmark measures throughput, not the limit
    }
    print(
        f"machine: {machine()}; PostgreSQL + Redis; two uvicorn processes each for echo and"
        " chat, per layer (no per-message deflate, as under daphne)"
    )
    print(
        f"pairs talking: {len(talking)}, {WINDOW} in flight each; {args.messages} messages per"
        f" run, {args.rounds} rounds"
    )
    trip, redis_rate = asyncio.run(redis_floor(redis_url, args.messages))
    print(f"floor  Redis pub/sub: round trip p50 {trip:.2f} ms; {redis_rate:,.0f} msg/s")
    results: dict[str, dict[str, Any]] = {}
    for layer in args.layers.split(","):
        layer_env = {**server_env, "CHANNEL_LAYER": layer}
        with (
            server_process(layer_env, "bench.echo_asgi:application") as (e1, _),
            server_process(layer_env, "bench.echo_asgi:application") as (e2, _),
            server_process(layer_env) as (c1, server1),
            server_process(layer_env) as (c2, _),
        ):
            echo_urls = (f"ws://127.0.0.1:{e1}", f"ws://127.0.0.1:{e2}")
            urls = (f"ws://127.0.0.1:{c1}", f"ws://127.0.0.1:{c2}")
            # Echo and chat take turns, round after round, and each is judged by its median:
            # one short run of either swings with what else the two cores are doing.
            ceilings, rates, echo_runs, chat_runs = [], [], [], []
            stored = 0
            for round_ in range(args.rounds):
                ceiling, _, echo_run = asyncio.run(
                    throughput(talking, echo_urls, "echo", args.messages)
                )
                stored_before = Message.objects.count()
                rate, _, chat_run = asyncio.run(throughput(talking, urls, "chat", args.messages))
                stored += Message.objects.count() - stored_before
                ceilings.append(ceiling)
                rates.append(rate)
                echo_runs.append(echo_run)
                chat_runs.append(chat_run)
                print(
                    f"layer {layer} round {round_ + 1}: echo {ceiling:,.0f} msg/s,"
                    f" chat {rate:,.0f} msg/s = {rate / ceiling:.0%}",
                    flush=True,
                )
            ceiling, rate = statistics.median(ceilings), statistics.median(rates)
            steady, steady_total = asyncio.run(paced(talking, urls, "chat", 300, 10))
            memory = (
                asyncio.run(idle(pairs, urls[0], args.idle, server1.pid))
                if layer == "pubsub" and args.idle
                else None
            )
        results[layer] = {
            "ceiling": ceiling,
            "rate": rate,
            "delivered": sum(len(run.latency) for run in chat_runs),
            "stored": stored,
            "sent": sum(len(run.sent) for run in chat_runs),
            "echo_lost": sum(len(run.sent) - len(run.latency) for run in echo_runs),
            "echo_p50": statistics.median(x for run in echo_runs for x in run.latency),
            "chat_p50": statistics.median(x for run in chat_runs for x in run.latency),
            "steady": steady,
            "steady_total": steady_total,
            "memory": memory,
        }
        print(f"layer {layer} (medians of {args.rounds} rounds):")
        echo_p50 = results[layer]["echo_p50"]
        print(
            f"  floor  layer echo (no database): {ceiling:,.0f} msg/s, p50 {echo_p50:.1f} ms,"
            f" {results[layer]['echo_lost']} frames lost"
        )
        print(
            f"  chat   {rate:,.0f} msg/s stored and delivered ({stored} stored,"
            f" {results[layer]['delivered']} delivered of {results[layer]['sent']}),"
            f" p50 {results[layer]['chat_p50']:.1f} ms = {rate / ceiling:.0%} of the ceiling"
        )
        lat = steady.latency
        print(
            f"  at 300 msg/s for 10 s: {len(lat)}/{steady_total} delivered,"
            f" p50 {percentile(lat, 50):.1f} ms, p99 {percentile(lat, 99):.1f} ms"
        )
        if memory is not None:
            before, held, open_now = memory
            print(
                f"  idle: {open_now} connections open on one process:"
                f" RSS {held:.0f} MB (before {before:.0f} MB)"
            )
    chosen = results.get("pubsub") or next(iter(results.values()))
    lat = chosen["steady"].latency
    checks = [
        ("chat msg/s >= 1,000", chosen["rate"], chosen["rate"] >= 1000),
        (
            "chat / layer ceiling >= 50%",
            chosen["rate"] / chosen["ceiling"],
            chosen["rate"] >= 0.5 * chosen["ceiling"],
        ),
        ("p99 at 300 msg/s <= 100 ms", percentile(lat, 99), percentile(lat, 99) <= 100),
        (
            "every message stored once and delivered",
            chosen["stored"],
            chosen["stored"] == chosen["delivered"] == chosen["sent"],
        ),
    ]
    if chosen["memory"] is not None:
        held = chosen["memory"][1]
        checks.append((f"RSS with {args.idle} idle connections <= 300 MB", held, held <= 300))
    failed = False
    for label, value, ok in checks:
        failed |= not ok
        print(f"check  {label:45s} {value:10.2f}  {'meets' if ok else 'MISSES'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
