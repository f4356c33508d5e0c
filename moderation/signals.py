from django.dispatch import Signal

# Sent by `moderation.services.block_create` inside the transaction that creates the block
# (a receiver's writes commit or roll back with it). Arguments: block.
block_created = Signal()
