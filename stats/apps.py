from django.apps import AppConfig


class StatisticsConfig(AppConfig):
    name = "stats"
    label = "statistics"
    verbose_name = "Statistics"

    def ready(self):
        from stats.outputs import renditions  # noqa: F401  (moves kept pieces on with public changes)
        from stats.publishing import tasks  # noqa: F401  (warms again after a correction)
