from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "deliveries"
    verbose_name = "Deliveries"
    # Support answers "my code never came": moderators read deliveries; admins retry them.
    moderator_permissions = ("deliveries.view_delivery",)

    def ready(self) -> None:
        from aurum import metrics
        from deliveries.metrics import waiting

        metrics.register("deliveries", waiting)
