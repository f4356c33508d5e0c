from django.dispatch import Signal

# Sent when a member opens another member's profile (not their own, not staff): matching
# records the visit. Arguments: viewer, profile.
profile_viewed = Signal()

# Sent by `services.profile_update` inside its transaction when a member changes who may see
# them or their photos (`photo_visibility`, `is_hidden`): media ends the photo URLs already
# handed out. Arguments: profile, fields (the names of those that changed).
profile_privacy_changed = Signal()

# Sent after the commit of any write of `services` to a profile or its sections (an edit,
# a submission, a verification decision): matching drops that member's cached feed, which
# their preferences and details rank. Arguments: profile_id.
profile_changed = Signal()

# Sent after the commit of a write that changed whether others may see the profile at all
# (`models.LISTED`, read from the locked row before and after): hidden or shown again,
# approved, sent back to verification. Matching drops every cached feed when it becomes
# unlisted. Arguments: profile_id, listed (the state now).
profile_listed_changed = Signal()
