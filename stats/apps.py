from django.apps import AppConfig


class StatisticsConfig(AppConfig):
    name = "stats"
    label = "statistics"
    verbose_name = "Statistics"

    def ready(self):
        from stats.outputs import renditions  # noqa: F401  (moves stored bodies on with public changes)
