#!/bin/sh
# Keepsake's container entrypoint: wait for PostgreSQL, migrate once, then run the command.
#
# Only the container started with KEEPSAKE_MIGRATE=true (the web service in
# docker-compose.yml) applies migrations and creates the cache table; the worker and
# beat wait until the schema is current, so no two containers migrate at once.
set -eu

python manage.py wait_for_db --timeout "${KEEPSAKE_DB_WAIT_SECONDS:-90}"

if [ "${KEEPSAKE_MIGRATE:-false}" = "true" ]; then
    python manage.py migrate --noinput
    python manage.py createcachetable
else
    python manage.py wait_for_db --migrated --timeout "${KEEPSAKE_DB_WAIT_SECONDS:-90}"
    # Now that the schema is there: the system checks, with the database ones, among
    # them whether VAULT_KEYS fits the stored letters (migrate above runs them for web).
    python manage.py check --database default
fi

exec "$@"
