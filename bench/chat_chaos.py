"""Chat under faults: no message lost, duplicated or out of order.

    .venv/bin/python bench/chat_chaos.py [--pairs 10] [--messages 1000]

Starts its own Redis server on a spare port (the cache and the channel layer of two server
processes), then pairs of members exchange `--messages` messages, one side of each pair on
each server, while the run restarts that Redis (down about 2 s) and kills one of the two
servers (SIGKILL). The clients behave as the apps must:
  - a sender sends in order, one message in flight; until `message.ack` arrives it sends the
    same `client_id` again (after a reconnect, or when no ack came in time);
  - a receiver keeps the messages it has by id, merges live `message.new` frames, and catches
    up with `GET messages/{id}?after=<cursor>` after every reconnect and once a second, where
    the cursor is the last id a catch-up returned: a live frame never moves it, because the
    frame before it may have been dropped (live delivery is at most once);
  - a dropped connection reconnects to a live server.
At the end every receiver catches up once more; then the run prints the messages lost (sent,
never received), duplicated (one client_id under two ids, or stored twice) and out of order
(a receiver's messages, by id, not in the order they were sent). Target: 0, 0, 0.
PostgreSQL as bench/chat.py (`aurum_bench_chat`).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import json
import signal
import sys
import time
import uuid
from contextlib import ExitStack
from typing import Any

from common import (
    machine,
    own_redis_setup,
    server_process,
    start_redis,
)

ACK_TIMEOUT = 3.0


class Member:
    """One app: a WebSocket that reconnects to a live server, and HTTP catch-up."""

    def __init__(self, name: str, token: str, conversation: str, ports: list[int]) -> None:
        self.name, self.token, self.conversation, self.ports = name, token, conversation, ports
        self.port_index = 0
        self.ws: Any = None
        self.received: dict[int, dict[str, Any]] = {}  # id -> message
        self.cursor = 0  # the last id a catch-up returned
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.reconnects = 0
        self.closed = False

    def live_ports(self) -> list[int]:
        return [port for port in self.ports if port is not None]

    async def connect(self) -> None:
        import websockets

        while not self.closed:
            ports = self.live_ports()
            port = ports[self.port_index % len(ports)]
            try:
                self.ws = await websockets.connect(
                    f"ws://127.0.0.1:{port}/ws/chat?token={self.token}",
                    ping_interval=None,
                    open_timeout=3,
                )
                asyncio.get_running_loop().create_task(self.read(self.ws))
                await self.catch_up()
                return
            except Exception:
                self.port_index += 1
                await asyncio.sleep(0.2)

    async def read(self, ws: Any) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "message.new":
                    self.keep(frame["message"])
                elif frame["type"] == "message.ack":
                    waiter = self.acks.get(frame["client_id"])
                    if waiter is not None and not waiter.done():
                        waiter.set_result(frame["message"])
        except Exception:
            pass
        if not self.closed and ws is self.ws:
            self.reconnects += 1
            self.port_index += 1
            await self.connect()

    def keep(self, message: dict[str, Any]) -> None:
        if message["conversation_id"] == self.conversation:
            self.received.setdefault(message["id"], message)

    async def catch_up(self) -> None:
        after = self.cursor
        while True:
            page = await asyncio.to_thread(
                self.get, f"/api/v1/chat/messages/{self.conversation}?after={after}&limit=200"
            )
            if page is None:
                return
            for message in page["results"]:
                self.keep(message)
                after = max(after, message["id"])
            self.cursor = after
            if not page["has_more"]:
                return

    def get(self, path: str) -> dict[str, Any] | None:
        for port in self.live_ports():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
                response = conn.getresponse()
                body = response.read()
                if response.status == 200:
                    return json.loads(body)
            except OSError:
                continue
        return None

    async def send_until_acked(self, body: str, client_id: str) -> int:
        """Send (again and again, the same client_id) until acknowledged; returns retries."""
        retries = -1
        while True:
            retries += 1
            waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self.acks[client_id] = waiter
            frame = {
                "type": "message.send",
                "conversation_id": self.conversation,
                "body": body,
                "client_id": client_id,
            }
            try:
                await self.ws.send(json.dumps(frame))
                await asyncio.wait_for(waiter, timeout=ACK_TIMEOUT)
                return retries
            except Exception:
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        self.closed = True
        if self.ws is not None:
            await self.ws.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()

    url, redis_port, redis_url, env, chat_bench = own_redis_setup("chat_chaos.py", "ERROR")

    from chat.models import Message

    redis_server = start_redis(redis_port)
    pairs = chat_bench.prepare(args.pairs)
    server_env = {
        **env,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "RATE_CHAT_MESSAGE": "100000/m",
    }
    per_pair = args.messages // len(pairs)
    tag = uuid.uuid4().hex[:8]
    events: list[str] = []

    with ExitStack() as stack:
        one, _ = stack.enter_context(server_process(server_env))
        two, server_two = stack.enter_context(server_process(server_env))
        ports: list[Any] = [one, two]

        async def run() -> tuple[list[tuple[Member, Member]], int, float]:
            members = []
            for index, pair in enumerate(pairs):
                order = ports if index % 2 == 0 else ports[::-1]
                sender = Member(f"a{index}", pair["a_token"], pair["conversation"], ports)
                receiver = Member(f"b{index}", pair["b_token"], pair["conversation"], ports)
                sender.port_index, receiver.port_index = (
                    ports.index(order[0]),
                    ports.index(order[1]),
                )
                await sender.connect()
                await receiver.connect()
                members.append((sender, receiver))
            retries = 0

            async def talk(index: int) -> None:
                nonlocal retries
                sender = members[index][0]
                for n in range(per_pair):
                    retries += await sender.send_until_acked(f"{n}", f"{tag}-{index}-{n}")
                    await asyncio.sleep(0.1)  # about 100 messages/s over the pairs

            async def poll() -> None:
                while True:
                    await asyncio.sleep(1)
                    for _, receiver in members:
                        await receiver.catch_up()

            async def chaos() -> None:
                nonlocal redis_server
                await asyncio.sleep(2)
                events.append(f"{time.perf_counter() - started:5.1f} s: Redis stopped")
                redis_server.kill()
                redis_server.wait()
                await asyncio.sleep(2)
                redis_server = await asyncio.to_thread(start_redis, redis_port)
                events.append(
                    f"{time.perf_counter() - started:5.1f} s: Redis started again (empty)"
                )
                await asyncio.sleep(3)
                server_two.send_signal(signal.SIGKILL)
                ports[1] = None
                events.append(
                    f"{time.perf_counter() - started:5.1f} s: server two killed (SIGKILL)"
                )

            started = time.perf_counter()
            poller = asyncio.get_running_loop().create_task(poll())
            chaos_task = asyncio.get_running_loop().create_task(chaos())
            await asyncio.gather(*(talk(i) for i in range(len(members))))
            await chaos_task
            poller.cancel()
            for _, receiver in members:
                await receiver.catch_up()
            elapsed = time.perf_counter() - started
            for sender, receiver in members:
                await sender.close()
                await receiver.close()
            return members, retries, elapsed

        members, retries, elapsed = asyncio.run(run())
    redis_server.kill()

    lost = duplicated = out_of_order = 0
    for index, (_, receiver) in enumerate(members):
        mine = [
            m for m in receiver.received.values() if m["client_id"].startswith(f"{tag}-{index}-")
        ]
        by_client: dict[str, set[int]] = {}
        for message in mine:
            by_client.setdefault(message["client_id"], set()).add(message["id"])
        duplicated += sum(len(ids) - 1 for ids in by_client.values())
        lost += sum(1 for n in range(per_pair) if f"{tag}-{index}-{n}" not in by_client)
        sequence = [int(m["body"]) for m in sorted(mine, key=lambda m: m["id"])]
        out_of_order += sum(1 for a, b in itertools.pairwise(sequence) if b <= a)
    stored = Message.objects.filter(client_id__startswith=f"{tag}-").count()
    duplicated += max(0, stored - per_pair * len(members))
    reconnects = sum(s.reconnects + r.reconnects for s, r in members)
    print(
        f"machine: {machine()}; PostgreSQL; own Redis on port {redis_port}; two uvicorn processes"
    )
    print(f"{len(members)} pairs, {per_pair * len(members)} messages in {elapsed:.1f} s; faults:")
    for line in events:
        print(f"  {line}")
    print(f"reconnects {reconnects}, resends {retries}, stored {stored}")
    print(f"lost {lost}, duplicated {duplicated}, out of order {out_of_order}  (target 0, 0, 0)")
    sys.exit(0 if lost == duplicated == out_of_order == 0 else 1)


if __name__ == "__main__":
    main()
