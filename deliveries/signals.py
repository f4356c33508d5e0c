"""Facts deliveries announce to the apps above."""

from django.dispatch import Signal

# A provider said an address will never take a message (FCM's UNREGISTERED push token, a
# number the SMS gateway calls invalid). Sent with channel=, address=, user_id=.
address_unreachable = Signal()
