"""The Celery app and its beat schedule.

State lives in the database; beat only ticks. Every minute the tick runs the
short, idempotent passes listed in ``settings.SCHEDULED_PASSES`` (the same ones
``manage.py run_scheduled`` runs), so a missed tick is caught up by the next.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("keepsake")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "tick": {
        "task": "apps.core.tasks.tick",
        "schedule": 60.0,
        # A tick that waited longer than a minute is superseded by the next one.
        "options": {"expires": 55},
    },
}
