from django.apps import AppConfig


class RitualsConfig(AppConfig):
    name = "apps.rituals"
    label = "rituals"
    verbose_name = "Rituals"
