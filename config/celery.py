"""The Celery app. Its beat schedule (``CELERY_BEAT_SCHEDULE`` in settings) is one tick
a minute, which runs the short, idempotent passes listed in ``settings.SCHEDULED_PASSES``
(the same ones ``manage.py run_scheduled`` runs), so a missed tick is caught up by the next.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("keepsake")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
