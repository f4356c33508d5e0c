from django.dispatch import Signal

# Sent when a member starts or renews an API session (login, phone login, token refresh), with
# `user_id`. Profiles records it as the member's last activity.
session_activity = Signal()

# Sent when an account can no longer be used, in the transaction that closes it, with `user`
# and `why` ("suspended" by staff, through accounts.services.user_set_active, or "deleted" by
# its member). Chat ends its calls; notifications forgets its phones; matching drops every
# cached feed (after the commit).
account_closed = Signal()
