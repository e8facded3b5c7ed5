"""Keepsake settings.

Everything that differs between a laptop and a server comes from environment
variables (see the README's configuration table). Unset, they give the embedded
default that ``make run`` uses: SQLite, a filesystem broker and a local mailbox,
all under ``var/``.
"""

import secrets
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
VAR_DIR = Path(env("KEEPSAKE_VAR_DIR", default=str(BASE_DIR / "var")))


def _local_secret(name: str) -> str:
    """A random secret kept in ``var/`` so the embedded default needs no setup."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string "
            "(or set DJANGO_DEBUG=true for a local, embedded run)."
        )
    SECRET_KEY = _local_secret("secret_key")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# The address the app is reached at, for links in e-mails.
SITE_URL = env("KEEPSAKE_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = "Keepsake"
# Invite-only: with this off, only someone holding an invitation can sign up.
KEEPSAKE_OPEN_SIGNUP = env.bool("KEEPSAKE_OPEN_SIGNUP", default=True)
INVITATION_DAYS = env.int("KEEPSAKE_INVITATION_DAYS", default=7)
# The staff banner and /healthz call the scheduler late after this many seconds.
SCHEDULER_MAX_AGE = env.int("KEEPSAKE_SCHEDULER_MAX_AGE", default=300)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "apps.core",
    "apps.notifications",
    "apps.accounts",
    "apps.rituals",
    "apps.journal",
    "apps.vault",
    "apps.portability",
    "apps.home",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "apps.accounts.middleware.SpaceMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.scheduler_health",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'keepsake.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite cannot create the folder its file lives in.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the worker write while the web reads; the timeout rides out short locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # /healthz and the web must answer even when the database host is gone.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The database cache needs no extra server and keeps working while Redis is down
# (allauth's rate limits live here).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "keepsake_cache",
    }
}

# --- Accounts -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home:dashboard"
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Keepsake] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
ACCOUNT_PREVENT_ENUMERATION = True
# allauth's defaults, stated so nobody turns them off by accident.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Time and language ----------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- E-mail -----------------------------------------------------------------------
EMAIL_URL = env("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    # The embedded default: every message lands as a file in var/mail/ (a Maildir);
    # `python manage.py mailbox` lists and shows them.
    EMAIL_BACKEND = "apps.notifications.backends.MaildirBackend"
EMAIL_FILE_PATH = env("KEEPSAKE_MAILDIR", default=str(VAR_DIR / "mail"))
# A stuck SMTP server must never hang a worker.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Keepsake <keepsake@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Outbox delivery: attempts before a message is marked failed, and the backoff base.
OUTBOX_MAX_ATTEMPTS = env.int("KEEPSAKE_OUTBOX_MAX_ATTEMPTS", default=6)
OUTBOX_BACKOFF_SECONDS = env.int("KEEPSAKE_OUTBOX_BACKOFF_SECONDS", default=60)

# --- Celery ------------------------------------------------------------------------
# The embedded default needs no server: kombu's filesystem transport under var/broker/
# (naming a host keeps kombu from warning that none was given).
CELERY_BROKER_URL = env(
    "CELERY_BROKER_URL", default=env("REDIS_URL", default="filesystem://localhost/")
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Without it kombu keeps its exchange tables in ./control of whatever directory
        # the process started in.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Short timeouts: the web never waits on the broker for long. The interval_* keys matter:
# without them kombu sleeps 2 s between connection attempts, so every publish to a
# refused broker held a page for 2 s (tests/integration/faults/test_faults_broker.py).
KEEPSAKE_REDIS_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
    "visibility_timeout": 3600,
}
if not CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = KEEPSAKE_REDIS_TRANSPORT_OPTIONS
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task survives a killed worker: acknowledged only once it finished.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# State lives in the database; beat only ticks. Every tick runs SCHEDULED_PASSES, so a
# missed tick is caught up by the next. A minute suits everyone; the fault tests run a
# real beat with a 2-second tick.
KEEPSAKE_TICK_SECONDS = env.float("KEEPSAKE_TICK_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "tick": {
        "task": "apps.core.tasks.tick",
        "schedule": KEEPSAKE_TICK_SECONDS,
        # A tick that waited longer than its interval is superseded by the next one.
        "options": {"expires": max(1.0, KEEPSAKE_TICK_SECONDS - 5)},
    },
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# The passes every tick runs, in order (also `manage.py run_scheduled`). Each is a
# callable taking `now` and returning how many rows it handled. Delivery runs last
# so that what the other passes queued goes out in the same tick.
SCHEDULED_PASSES = [
    "apps.rituals.services.reminders_schedule_due",
    "apps.journal.services.nudges_schedule_due",
    "apps.vault.services.letter_unlock_due",
    "apps.notifications.services.outbox_deliver_due",
]

# What follows an account event (apps.core.hooks): e.g. reminders are recomputed
# when a partner joins, and reminders, journal nudges and digests when a time zone
# changes. Each is called with keyword arguments.
KEEPSAKE_HOOKS = {
    "user_joined_space": ["apps.rituals.services.schedules_sync_user"],
    "user_zone_changed": [
        "apps.rituals.services.schedules_sync_user",
        "apps.journal.services.nudges_sync_user",
    ],
    "space_zone_changed": [
        "apps.rituals.services.schedules_sync_space",
        "apps.journal.services.nudges_sync_space",
    ],
    # Leaving or deleting an account: each feature removes its own personal rows
    # (apps/portability/README.md says what stays and what goes).
    "user_leaving_space": [
        "apps.rituals.portability.user_leaving_space",
        "apps.journal.portability.user_leaving_space",
        "apps.vault.portability.user_leaving_space",
    ],
    "user_deleting": [
        "apps.rituals.portability.user_deleting",
        "apps.journal.portability.user_deleting",
        "apps.vault.portability.user_deleting",
    ],
}

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Monitors may probe /healthz over plain HTTP inside the network; a 301 would read as down.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a one-way door; a self-hosted app should not opt in for its host.
    "security.W021",
]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# --- Logging ---------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Accounts app (apps/accounts) -----------------------------------------------------
# Sign-up form: on an invite-only host it accepts only the invited address.
ACCOUNT_FORMS = {"signup": "apps.accounts.forms.SignupForm"}

# --- Vault keys (apps.vault) ---------------------------------------------------------------
# Key-encryption keys for letters, separate from DJANGO_SECRET_KEY:
# "id:base64-of-32-bytes,..." newest first (docs/vault.md). Without it, a DEBUG run
# creates var/vault.key (mode 0600) on its first migrate; anything else refuses to start.
VAULT_KEYS = env("VAULT_KEYS", default="")
VAULT_KEY_FILE = VAR_DIR / "vault.key"
if not VAULT_KEYS and not DEBUG:
    raise ImproperlyConfigured(
        "VAULT_KEYS is not set. Letters are encrypted with it; generate one with "
        "python -c \"import base64,os;print('k1:'+base64.b64encode(os.urandom(32)).decode())\" "
        "and keep a copy apart from the database backups (see docs/vault.md)."
    )

# --- Rituals (apps.rituals) ---------------------------------------------------------------
# A reminder later than this (e.g. after the worker was down) is recorded missed, not sent.
RITUALS_REMINDER_GRACE_MINUTES = env.int("KEEPSAKE_REMINDER_GRACE_MINUTES", default=120)
# How long the "We did it" / "Skip this time" links in reminder e-mails work.
RITUALS_CHECKIN_LINK_DAYS = env.int("KEEPSAKE_CHECKIN_LINK_DAYS", default=14)
