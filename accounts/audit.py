"""The one writer of audit records: every service, the staff rules and erasure append here."""

from __future__ import annotations

from typing import Any

from accounts.models import AuditAction, AuditLog, User


def audit_record(
    *,
    action: AuditAction | str,
    actor: User | None = None,
    target: Any = None,
    ip: str | None = None,
    metadata: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditLog:
    """Append one audit record. `target` is any model instance (or None); `actor_label`
    replaces the actor's own ("AU7K2M9Q (moderator)") where that no longer says who it was."""
    target_type = target_id = ""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
    if actor_label is None:
        actor_label = f"{actor.profile_code} ({actor.role})" if actor is not None else ""
    return AuditLog.objects.create(
        actor=actor,
        actor_label=actor_label,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=ip or None,
        metadata=metadata or {},
    )
