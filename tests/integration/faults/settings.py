"""Settings for a Celery worker started as a subprocess by the fault tests.

``config.settings_test`` forces the locmem e-mail backend (nothing would reach the
test's SMTP server); with ``EMAIL_URL`` set, the worker uses the SMTP backend that
``config.settings`` configured from it.
"""

import os

from config.settings_test import *  # noqa: F403

if os.environ.get("EMAIL_URL"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "5"))
CELERY_TASK_EAGER_PROPAGATES = False
