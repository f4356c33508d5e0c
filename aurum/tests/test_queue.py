"""`aurum.queue`: tasks a request queued go out after commit, and after its response."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from celery import Celery
from django.db import connections

from accounts.tests.factories import UserFactory
from deliveries.backends import Memory
from deliveries.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.asyncio
async def test_a_requests_tasks_are_published_once_its_response_has_gone_out():
    from asgiref.sync import sync_to_async

    from aurum.asgi import application

    await sync_to_async(UserFactory)(phone="+919847012345")
    body = json.dumps({"phone": "+919847012345"}).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/v1/auth/otp/send", "raw_path": b"/api/v1/auth/otp/send",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    sent: list[dict] = []
    outbox_when_answered: list[int] = []
    requests = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        if requests:
            return requests.pop(0)
        await asyncio.Event().wait()  # as a server does: the client stays until the answer
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            outbox_when_answered.append(len(Memory.outbox))  # the member has the answer now

    try:
        await application(scope, receive, send)  # returns when the server's task would end
        rows = await sync_to_async(
            lambda: list(Delivery.objects.values_list("status", flat=True))
        )()
    finally:
        # The request ran on asgiref's one sync thread: give its connection back, or a later
        # test on that thread finds it dead (test_wiring terminates the test database's).
        await sync_to_async(connections.close_all)()

    assert sent[0]["status"] == 202
    assert outbox_when_answered == [0]  # the row was committed; nothing was sent yet
    assert rows == ["sent"] and [m["to"] for m in Memory.outbox] == ["+919847012345"]


broken = Celery("broken-broker", broker="redis://127.0.0.1:1/0", set_as_current=False)
broken.conf.broker_transport_options = {"socket_connect_timeout": 1}
broken.conf.task_publish_retry_policy = {"max_retries": 0}


@broken.task(name="aurum.tests.test_queue.nothing")
def nothing() -> None:
    """A task on a broker that refuses every connection (nothing listens on port 1)."""


@pytest.mark.django_db
def test_a_refusing_broker_is_left_alone_for_a_while_then_tried_again(monkeypatch, caplog):
    from aurum import queue

    monkeypatch.setattr(queue, "_broker_down_until", 0.0)
    path = "aurum.tests.test_queue.nothing"

    def attempt() -> str:
        caplog.clear()
        assert queue.publish(path) is False
        (record,) = [r for r in caplog.records if r.name == "aurum.queue"]
        return "tried" if record.exc_info else "skipped"

    assert attempt() == "tried"  # refused
    assert attempt() == "skipped"  # known to be down: no wait on it
    monkeypatch.setattr(queue, "_broker_down_until", time.monotonic() - 1)  # the while passed
    assert attempt() == "tried"
