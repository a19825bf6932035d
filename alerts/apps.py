from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Email alerts"

    def ready(self):
        from alerts import receivers  # noqa: F401  (connects to the publishing workflow's events)
