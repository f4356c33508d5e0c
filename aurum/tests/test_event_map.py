"""The whole map of who reacts to what, pinned: a receiver added or lost, a signal defined
without its row here, or a reaction tied to a model's save shows here (and belongs in
docs/architecture.md's table)."""

from __future__ import annotations

import weakref
from importlib import import_module
from typing import Any

from django.apps import apps
from django.contrib.auth import signals as auth_signals
from django.db.models import signals as model_signals
from django.dispatch import Signal
from django.dispatch.dispatcher import NONE_ID
from django.utils.module_loading import module_has_submodule

from accounts.models import User
from profiles.models import Profile

OUR_APPS = (
    "accounts",
    "notifications",
    "profiles",
    "moderation",
    "matching",
    "media",
    "chat",
    "onboarding",
    "deliveries",
)
MODEL_SIGNALS = (
    "pre_init",
    "post_init",
    "pre_save",
    "post_save",
    "pre_delete",
    "post_delete",
    "m2m_changed",
)


def _name(ref: Any) -> str:
    receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
    return f"{receiver.__module__}.{receiver.__name__}"


def _reactions(signal: Signal) -> set[str]:
    return {_name(ref) for _key, ref, *_ in signal.receivers}


def _domain_signals() -> dict[str, Signal]:
    """Every signal our apps define, by `app.name`: found, not listed, so a new one must be
    added to the map."""
    found = {}
    for app in OUR_APPS:
        config = apps.get_app_config(app)
        if module_has_submodule(config.module, "signals"):
            module = import_module(f"{app}.signals")
            for name, value in vars(module).items():
                if isinstance(value, Signal):
                    found[f"{app}.{name}"] = value
    return found


def _model_reactions() -> dict[str, set[str]]:
    """Receivers of Django's model signals, by `signal Model`, for every model (and those
    connected for any sender)."""
    labels = {id(model): model._meta.label for model in apps.get_models()}
    labels[NONE_ID] = "any model"
    found: dict[str, set[str]] = {}
    for signal_name in MODEL_SIGNALS:
        signal = getattr(model_signals, signal_name)
        for (_uid, sender_id), ref, *_ in signal.receivers:
            key = f"{signal_name} {labels.get(sender_id, sender_id)}"
            found.setdefault(key, set()).add(_name(ref))
    return found


def test_who_reacts_to_which_domain_signal():
    assert {name: _reactions(signal) for name, signal in _domain_signals().items()} == {
        "accounts.session_activity": {"profiles.receivers._session_activity"},
        "accounts.account_closed": {
            "chat.receivers._account_closed",
            "matching.receivers._account_closed",
            "notifications.receivers._account_closed",
        },
        "profiles.profile_viewed": {"matching.receivers._viewed"},
        "profiles.profile_privacy_changed": {"media.receivers._privacy_changed"},
        "profiles.profile_changed": {"matching.receivers._profile_changed"},
        "profiles.profile_listed_changed": {"matching.receivers._profile_listed_changed"},
        "moderation.block_created": {
            "chat.receivers._block_created",
            "matching.receivers._block_created",
            "media.receivers._block_created",
        },
        "moderation.block_removed": {"matching.receivers._block_removed"},
        "moderation.member_flagged": {"matching.receivers._member_flagged"},
        "matching.interest_accepted": {"chat.receivers._interest_accepted"},
        "deliveries.address_unreachable": {"notifications.receivers._address_unreachable"},
    }


def test_who_reacts_to_django_signals():
    """Of Django's model signals only media's own files hang on a row going; sign-ins through
    the admin are audited (next to Django's and django-otp's own receivers)."""
    assert _model_reactions() == {"post_delete media.Photo": {"media.receivers._photo_deleted"}}
    assert {
        name: _reactions(getattr(auth_signals, name))
        for name in ("user_logged_in", "user_login_failed", "user_logged_out")
    } == {
        "user_logged_in": {
            "accounts.receivers.audit_admin_login",
            "django.contrib.auth.models.update_last_login",
            "django_otp._handle_auth_login",
        },
        "user_login_failed": {"accounts.receivers.audit_admin_login_failure"},
        "user_logged_out": set(),
    }


def test_nothing_watches_accounts_or_profiles_load():
    """No receiver runs each time a User or a Profile row is read (post_init): a changed fact
    comes from the service that changed it."""
    for model in (User, Profile):
        assert not model_signals.post_init.has_listeners(model)
        assert model_signals.post_init._live_receivers(model) == ([], [])
