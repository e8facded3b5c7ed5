# Keepsake's image: one image for web (gunicorn), worker and beat (Celery).
# Build: docker compose build   ·   see docs/deploy.md
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    KEEPSAKE_VAR_DIR=/app/var

WORKDIR /app

RUN groupadd --system keepsake \
    && useradd --system --gid keepsake --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin keepsake

# Dependencies first, from the pins in pyproject.toml, so code changes reuse this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
    && pip install --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

# Static files are collected into the image (served by whitenoise). The settings need a
# secret key, a vault key and a broker to import; these placeholders exist only for this
# command (tests/core/test_docker.py runs it with nothing else set).
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret \
    VAULT_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    REDIS_URL=redis://build-placeholder:6379/0 \
    KEEPSAKE_VAR_DIR=/tmp/build-var \
    python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var \
    && mkdir -p /app/var \
    && chown keepsake:keepsake /app/var \
    && chmod +x /app/docker/entrypoint.sh

USER keepsake

EXPOSE 8000

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
