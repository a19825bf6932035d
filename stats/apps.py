from django.apps import AppConfig


class StatisticsConfig(AppConfig):
    name = "stats"
    label = "statistics"
    verbose_name = "Statistics"

    def ready(self):
        from stats.publishing import tasks  # noqa: F401  (warms again after a correction)
