from django.dispatch import Signal

# After a report is resolved: report, action. Notifications tells the reporter (and the
# reported member, when warned or suspended).
report_resolved = Signal()
