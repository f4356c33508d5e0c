"""What deliveries hold on a member, for `accounts.privacy`: what was sent where, never the
messages' texts (a sent row keeps none)."""

from __future__ import annotations

from typing import Any

from deliveries.models import Delivery
from deliveries.services import forget


def export(user: Any) -> dict[str, Any]:
    return {
        "deliveries": list(
            Delivery.objects.filter(user=user)
            .order_by("created_at")
            .values("channel", "label", "address", "status", "created_at", "sent_at")
        )
    }


def erase(user: Any) -> None:
    forget(user=user)
