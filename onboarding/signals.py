from django.dispatch import Signal

# Sent after a verification decision commits: profile, approved, notes. The notifications app
# connects here to tell the member.
verification_decided = Signal()
