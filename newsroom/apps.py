from django.apps import AppConfig


class NewsroomConfig(AppConfig):
    name = "newsroom"
    verbose_name = "Newsroom"

    def ready(self):
        from newsroom import checks, signals  # noqa: F401  (checks registers the deployment checks)

        signals.connect()
