from django.dispatch import Signal

# Sent by `moderation.services.block_create` inside the transaction that creates the block
# (a receiver's writes commit or roll back with it). Arguments: block.
block_created = Signal()

# Sent by `moderation.services.block_delete` after the commit that removed a block.
# Arguments: blocker_id, blocked_id.
block_removed = Signal()

# Sent after the commit of a report that holds its member out of sight until a moderator
# looks (enough reporters: `services._auto_flag`). Arguments: user_id (the reported member).
member_flagged = Signal()
