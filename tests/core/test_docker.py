"""The compose file and the image: every service is defined with a healthcheck, and the
commands they run exist in this project (no Docker engine runs here, so this is what
can be checked)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = (ROOT / "docker-compose.yml").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENTRYPOINT = (ROOT / "docker" / "entrypoint.sh").read_text()
SERVICES = {"db", "redis", "mailpit", "web", "worker", "beat"}


def service_blocks() -> dict[str, str]:
    """Each top-level service's text (a plain reading that needs no YAML parser)."""
    body = COMPOSE.split("\nservices:\n", 1)[1].split("\nvolumes:\n", 1)[0]
    parts = re.split(r"^  ([a-z][\w-]*):\n", body, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_service_is_there_with_a_healthcheck():
    blocks = service_blocks()
    assert set(blocks) == SERVICES
    for name, block in blocks.items():
        assert "healthcheck:" in block, name
    assert "image: postgres:16" in blocks["db"]
    assert "image: redis:7" in blocks["redis"]
    assert "axllent/mailpit" in blocks["mailpit"]
    for name in ("web", "worker", "beat"):
        assert "<<: *app" in blocks[name], f"{name} does not share the x-app definition"
    # Only web migrates; the others wait for it (docker/entrypoint.sh).
    assert 'KEEPSAKE_MIGRATE: "true"' in blocks["web"]
    assert "KEEPSAKE_MIGRATE" not in blocks["worker"] + blocks["beat"]
    assert "docker/healthcheck.py" in blocks["web"]


def test_compose_parses_and_wires_services_together():
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load(COMPOSE)

    services = spec["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["build"] == "."
        assert service["env_file"] == ".env"
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert set(spec["volumes"]) >= {"postgres-data", "redis-data"}


def compose_commands() -> list[list[str]]:
    commands = []
    for match in re.finditer(r"^\s+(?:command|test): (\[.*\])$", COMPOSE, re.MULTILINE):
        words = json.loads(match.group(1))  # a YAML flow list of "strings" is JSON
        if words[0] == "CMD-SHELL":
            words = shlex.split(words[1].replace("$$", "$"))
        elif words[0] == "CMD":
            words = words[1:]
        commands.append(words)
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE).group(1)
    commands.append(json.loads(cmd))
    return commands


def test_the_commands_the_containers_run_exist_in_the_project():
    management = get_commands()
    seen = set()
    for words in compose_commands():
        program = words[0]
        seen.add(program)
        if program == "gunicorn":
            assert words[1] == "config.wsgi"
            from config.wsgi import application

            assert callable(application)
        elif program == "celery":
            assert words[1:3] == ["-A", "config"]
            from config import celery_app

            celery_app.loader.import_default_modules()  # what a worker does on start
            assert "apps.core.tasks.tick" in celery_app.tasks
            assert "apps.notifications.tasks.deliver_email" in celery_app.tasks
            assert words[3] in {"worker", "beat", "inspect"}
        elif program == "python":
            if words[1] == "manage.py":
                assert words[2] in management, words
            else:
                assert (ROOT / words[1]).is_file(), words
    assert {"gunicorn", "celery", "python"} <= seen
    for command in re.findall(r"python manage.py (\w+)", ENTRYPOINT):
        assert command in management, command


def test_dockerfile_builds_a_non_root_image_with_static_files():
    assert re.search(r"^FROM python:3\.11-slim$", DOCKERFILE, re.MULTILINE)
    assert re.search(r"^USER keepsake$", DOCKERFILE, re.MULTILINE)
    assert "pyproject.toml" in DOCKERFILE and "pip install" in DOCKERFILE
    assert "collectstatic --noinput" in DOCKERFILE
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in DOCKERFILE
    assert os.access(ROOT / "docker" / "entrypoint.sh", os.X_OK)
    assert ENTRYPOINT.rstrip().endswith('exec "$@"')


def test_the_images_collectstatic_step_runs_with_only_what_the_dockerfile_sets(tmp_path):
    """The build's `RUN … collectstatic` with the Dockerfile's ENV and the step's own
    placeholders, in an environment that holds nothing else (no .env, no test keys)."""
    env_block = re.search(r"^ENV (.+?)\n\n", DOCKERFILE, re.MULTILINE | re.DOTALL).group(1)
    image_env = dict(re.findall(r"([A-Z_]+)=(\S+)", env_block))
    step = re.search(
        r"^RUN (DJANGO_SECRET_KEY=.+?collectstatic --noinput)", DOCKERFILE, re.M | re.S
    )
    words = shlex.split(step.group(1).replace("\\\n", " "))
    step_env = dict(word.split("=", 1) for word in words if re.match(r"^[A-Z_]+=", word))
    command = [word for word in words if not re.match(r"^[A-Z_]+=", word)]
    assert command == ["python", "manage.py", "collectstatic", "--noinput"]
    env = {
        "PATH": os.environ["PATH"],
        **image_env,
        **step_env,
        # Where this machine may write, instead of /app and /tmp/build-var.
        "DJANGO_STATIC_ROOT": str(tmp_path / "staticfiles"),
        "KEEPSAKE_VAR_DIR": str(tmp_path / "build-var"),
    }
    result = subprocess.run(
        [sys.executable, *command[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "staticfiles" / "css").is_dir()


def test_env_example_lists_every_variable_the_settings_read():
    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", settings_source))
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no variables found in the settings"
    assert read - listed == set()
    # And the compose file's own variables.
    for name in re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]+)[:}]", COMPOSE):
        assert name in listed, name


def test_readme_configuration_table_lists_every_variable_the_settings_read():
    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", settings_source))
    readme = (ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, re.M))
    assert read - table == set()


def test_entrypoint_waits_then_runs_the_command(tmp_path):
    """The entrypoint on SQLite: database ready, migrated (web), then exec the command."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "KEEPSAKE_")) and key != "DATABASE_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="true",
        KEEPSAKE_VAR_DIR=str(tmp_path / "var"),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )

    def entrypoint(*command, **extra):
        return subprocess.run(
            ["sh", "docker/entrypoint.sh", *command],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=180,
        )

    waiting = entrypoint("echo", "started", KEEPSAKE_DB_WAIT_SECONDS="1")
    assert waiting.returncode != 0 and "started" not in waiting.stdout
    assert "Gave up waiting for the migrations" in waiting.stderr

    web = entrypoint("echo", "started", KEEPSAKE_MIGRATE="true")
    assert web.returncode == 0, web.stderr
    assert web.stdout.rstrip().endswith("started")

    worker = entrypoint("echo", "started")
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.rstrip().endswith("started")


def test_wait_for_db_gives_up_on_an_unreachable_database(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "true",
        "KEEPSAKE_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "wait_for_db", "--timeout", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Gave up waiting for the database" in result.stderr
