from django.apps import AppConfig


class StatisticsConfig(AppConfig):
    name = "stats"
    label = "statistics"
    verbose_name = "Statistics"

    def ready(self):
        from stats.outputs import renditions  # moves kept pieces on with public changes
        from stats.publishing import tasks  # noqa: F401  (warms again after a correction)

        # Digest the code now, as it is loaded: a worker forked from this process later, after new
        # files are deployed, still runs this code and must not claim the new files' digest.
        renditions.code_digest()
