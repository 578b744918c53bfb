from django.apps import AppConfig


class AnnotatorConfig(AppConfig):
    """The project itself as an app, for what must be wired once at start-up (signal receivers)."""

    name = "annotator"

    def ready(self):
        from . import throttling  # noqa: F401  (connects the sign-in failure counters)
