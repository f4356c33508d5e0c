"""Deliveries' scrape-time metric (aurum.metrics): the rows still to send, counted when
Prometheus asks. Rates of rows reaching each status come from the counter the services bump
(aurum_deliveries_total); this says how many wait right now, which no counter can after a
restart."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from deliveries.models import Channel, Delivery, Status

WAITING = (Status.PENDING, Status.FAILED)
NAME = "aurum_deliveries_waiting"


def waiting() -> Iterable[Metric]:
    """One GROUP BY over the rows still to send, the ones the sweeper's partial index holds
    (sent and given-up rows, the bulk of the table, are not read)."""
    counts = {(channel, status): 0 for channel in Channel.values for status in WAITING}
    rows = (
        Delivery.objects.filter(status__in=WAITING)
        .values_list("channel", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for channel, status, n in rows:
        counts[(channel, status)] = n
    family = GaugeMetricFamily(
        NAME,
        "Deliveries still to send now: pending (queued) or failed (a retry is due).",
        labels=["channel", "status"],
    )
    for (channel, status), n in sorted(counts.items()):
        family.add_metric([channel, str(status)], n)
    return [family]
