from django.dispatch import Signal

# Sent inside the transaction that accepts an interest, with `interest`: chat opens the pair's
# conversation in the same transaction.
interest_accepted = Signal()
