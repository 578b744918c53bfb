from django.apps import AppConfig


class MlassistConfig(AppConfig):
    name = "mlassist"
    verbose_name = "Model assistance"
