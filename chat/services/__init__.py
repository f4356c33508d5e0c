"""Chat and calls: the services HTTP views and WebSocket consumers both go through.

- `reach`: who may talk to whom (the visibility rule both ways, and an accepted interest),
  asked by every send, call, read receipt and typing frame;
- `conversations`: a pair's conversation, opened once;
- `messages`: sends in batches, written in one transaction and told to devices after the
  commit (`aurum.events`), edits, deletions, read marks, typing;
- `presence`: chat settings, live connections and the socket cap, online and offline;
- `calls`: ringing, answering, ending and relaying signalling.

Reads live in `chat.selectors`. The names below are the package's public face.
"""

from chat.services.calls import (
    call_accept,
    call_data,
    call_expire,
    call_hangup,
    call_invite,
    call_reject,
    call_signal,
    call_socket_close,
    calls_drop_channel,
    calls_end_for,
    calls_expire_due,
    calls_group,
    turn_credentials,
)
from chat.services.conversations import conversation_of, conversation_open
from chat.services.messages import (
    BATCH_STATEMENTS,
    EDIT_WINDOW,
    SendRequest,
    SendResult,
    ack_frame,
    message_delete,
    message_edit,
    message_send,
    messages_read,
    messages_send,
    typing,
)
from chat.services.presence import (
    connection_close,
    connection_open,
    connections_refresh,
    settings_of,
    settings_update,
    socket_open,
)
from chat.services.reach import chat_problem

__all__ = [
    "BATCH_STATEMENTS",
    "EDIT_WINDOW",
    "SendRequest",
    "SendResult",
    "ack_frame",
    "call_accept",
    "call_data",
    "call_expire",
    "call_hangup",
    "call_invite",
    "call_reject",
    "call_signal",
    "call_socket_close",
    "calls_drop_channel",
    "calls_end_for",
    "calls_expire_due",
    "calls_group",
    "chat_problem",
    "connection_close",
    "connection_open",
    "connections_refresh",
    "conversation_of",
    "conversation_open",
    "message_delete",
    "message_edit",
    "message_send",
    "messages_read",
    "messages_send",
    "settings_of",
    "settings_update",
    "socket_open",
    "turn_credentials",
    "typing",
]
