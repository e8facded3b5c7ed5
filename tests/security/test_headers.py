"""Headers: a strict CSP and friends on every page, HSTS and secure cookies in production,
a clean `check --deploy`, and templates with nothing a strict CSP would block."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from .conftest import all_routes, client_for, fillings

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
STRICT_REFERRER = {"same-origin", "no-referrer"}
PAGES = [
    "home:dashboard",
    "rituals:list",
    "rituals:create",
    "journal:index",
    "journal:write",
    "vault:home",
    "accounts:space",
    "accounts:settings",
]


def _csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _assert_strict_headers(response):
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        assert csp.get(directive, csp["default-src"]) == ["'self'"], directive
    for directive, sources in csp.items():
        for source in sources:
            assert source in ("'self'", "'none'", "data:"), (directive, source)
    assert csp["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] in STRICT_REFERRER
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_send_strict_security_headers(alice):
    client = client_for(alice)
    for name in PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        _assert_strict_headers(response)
        _assert_nothing_blocked(response)
    for path in (
        reverse("account_login"),
        reverse("account_signup"),
        reverse("account_reset_password"),
        reverse("home:landing"),
        "/no-such-page/",
    ):
        response = Client().get(path)
        _assert_strict_headers(response)
        _assert_nothing_blocked(response)


def test_every_routed_page_is_strict_and_blocks_nothing(world):
    """Every pattern, filled with real ids, as its owner: headers and no inline code."""
    owner = client_for(world.one.first)
    pages = 0
    for route in all_routes():
        for kwargs in fillings(route, world):
            response = owner.get(route.reverse(**kwargs))
            assert response.status_code < 500 or route.name == "healthz", route.name
            _assert_strict_headers(response)
            if response.status_code == 200 and "html" in response["Content-Type"]:
                pages += 1
                _assert_nothing_blocked(response)
    assert pages >= 20


def _assert_nothing_blocked(response):
    """The rendered page (third-party templates included) has no inline script or style."""
    html = response.content.decode()
    path = response.request["PATH_INFO"]
    assert not INLINE_SCRIPT.search(html), path
    assert not STYLE_ATTR.search(html), path
    assert not STYLE_BLOCK.search(html), path
    assert not EVENT_ATTR.search(html), path


# --- Production settings --------------------------------------------------------------------

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "prod-" + "k3y-" * 15,
    "DJANGO_ALLOWED_HOSTS": "keepsake.example.com",
    "KEEPSAKE_BASE_URL": "https://keepsake.example.com",
    "VAULT_KEYS": "p1:a2VlcHNha2UtdGVzdC12YXVsdC1rZXktMzItYnl0ZXM=",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}


def _production_env(tmp_path) -> dict:
    """The environment a server gets: nothing from the test settings leaks in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CELERY_", "KEEPSAKE_", "VAULT_", "EMAIL_", "DATABASE_"))
    }
    env.update(PRODUCTION_ENV)
    env["KEEPSAKE_VAR_DIR"] = str(tmp_path)
    return env


def _run(args, tmp_path):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def production_settings(tmp_path_factory) -> dict:
    names = [
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_REFERRER_POLICY",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS",
    ]
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    result = _run(["shell", "-c", code], tmp_path_factory.mktemp("prod"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_are_secure(production_settings):
    s = production_settings
    assert s["DEBUG"] is False
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"] and s["SESSION_COOKIE_HTTPONLY"]
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] >= 31536000
    assert s["SECURE_REFERRER_POLICY"] in STRICT_REFERRER
    assert s["X_FRAME_OPTIONS"] == "DENY"


def test_production_responses_carry_hsts_and_secure_cookies(production_settings, alice):
    s = production_settings
    overrides = {k: (tuple(v) if isinstance(v, list) else v) for k, v in s.items() if k != "DEBUG"}
    with override_settings(**overrides):
        client = Client()
        # Plain HTTP is sent to HTTPS.
        response = client.get(reverse("account_login"))
        assert response.status_code == 301
        assert response["Location"].startswith("https://")
        # Over HTTPS (behind the proxy): HSTS, and cookies only over TLS.
        response = client.get(reverse("account_login"), secure=True)
        assert response.status_code == 200
        hsts = response["Strict-Transport-Security"]
        assert re.search(r"max-age=(\d+)", hsts).group(1) == str(s["SECURE_HSTS_SECONDS"])
        assert response.cookies[settings.CSRF_COOKIE_NAME]["secure"]
        response = client.post(
            reverse("account_login"),
            {"login": alice.email, "password": "correct horse battery"},
            secure=True,
        )
        assert response.status_code == 302
        session = response.cookies[settings.SESSION_COOKIE_NAME]
        assert session["secure"] and session["httponly"]
        assert session["samesite"].lower() in ("lax", "strict")


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output, output


# --- Templates --------------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style\b", re.IGNORECASE)
EVENT_ATTR = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"javascript:", re.IGNORECASE)


# Templates that are not served as pages (no CSP applies to them).
NOT_PAGES = {
    "portability/export_readme.html": "the readable copy inside the export ZIP, opened from disk",
}


def _page_templates():
    for path in sorted((ROOT / "templates").rglob("*.html")):
        relative = path.relative_to(ROOT / "templates")
        if relative.parts[0] == "emails" or relative.as_posix() in NOT_PAGES:
            continue
        yield path


def test_the_templates_that_are_not_pages_exist():
    for name in NOT_PAGES:
        assert (ROOT / "templates" / name).exists(), name


def test_page_templates_have_nothing_the_csp_would_block():
    problems = []
    checked = 0
    for path in _page_templates():
        checked += 1
        text = path.read_text()
        for label, pattern in (
            ("inline <script>", INLINE_SCRIPT),
            ("style= attribute", STYLE_ATTR),
            ("<style> block", STYLE_BLOCK),
            ("on*= event handler", EVENT_ATTR),
            ("javascript: URL", JS_URL),
        ):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {label}")
    assert checked > 20
    assert not problems, "\n".join(problems)


def test_the_scanner_catches_what_it_should():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/js/x.js" defer></script>')
    assert STYLE_ATTR.search('<div style="color:red">')
    assert EVENT_ATTR.search('<a onclick="x()">')
