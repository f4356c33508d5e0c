from django.dispatch import Signal

# Sent when a member starts or renews an API session (login, phone login, token refresh), with
# `user_id`. Profiles records it as the member's last activity.
session_activity = Signal()
