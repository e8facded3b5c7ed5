"""Input sweep over every form the apps define: is_valid() never raises."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil

import pytest
from django import forms
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import apps

from .hostile import form_data, to_querydict

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def app_forms() -> dict[str, type]:
    """Every Form / ModelForm class defined in an ``apps.<app>.forms`` module."""
    found = {}
    for module_info in pkgutil.iter_modules(apps.__path__):
        try:
            module = importlib.import_module(f"apps.{module_info.name}.forms")
        except ModuleNotFoundError as exc:
            if exc.name != f"apps.{module_info.name}.forms":
                raise
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                found[f"{module_info.name}.{name}"] = cls
    return found


def _members(ctx):
    return list(ctx["space"].members.all())


# How to build each form (its extra constructor arguments). A new form fails the
# coverage test until it is added here.
FORM_KWARGS = {
    "accounts.SpaceForm": lambda ctx: {},
    "accounts.InvitationForm": lambda ctx: {},
    "accounts.ProfileForm": lambda ctx: {},
    "accounts.EmailPreferencesForm": lambda ctx: {},
    "accounts.SignupForm": lambda ctx: {},
    "rituals.RitualForm": lambda ctx: {"space": ctx["space"]},
    "rituals.ReminderPreferenceForm": lambda ctx: {"allow_default": ctx["flag"]},
    "rituals.CheckInForm": lambda ctx: {},
    "journal.EntryForm": lambda ctx: {},
    "journal.EntryEditForm": lambda ctx: {},
    "journal.QuickEntryForm": lambda ctx: {},
    "journal.AppreciationForm": lambda ctx: {},
    "journal.JournalFilterForm": lambda ctx: {"members": _members(ctx)},
    "journal.JournalSettingsForm": lambda ctx: {},
    "vault.LetterForm": lambda ctx: {},
    "portability.PasswordConfirmForm": lambda ctx: {"request": ctx["request"]},
    "vault.SealForm": lambda ctx: {
        "choices": [(0, dt.date(2027, 6, 14)), (1, dt.date(2028, 6, 14))]
    },
}

FORMS = app_forms()


def test_every_form_of_the_apps_is_in_the_sweep():
    assert set(FORMS) == set(FORM_KWARGS), "add new forms to FORM_KWARGS"


def _field_names(cls) -> list[str]:
    # A few names no form declares ride along (extra POST keys must be ignored).
    return [*cls.base_fields, "password1", "password2", "csrfmiddlewaretoken", "unexpected"]


@pytest.fixture
def ctx(alice, bob):
    return {"space": alice.space, "user": alice, "flag": False}


@pytest.fixture
def allauth_request(alice):
    request = RequestFactory().post("/accounts/signup/")
    request.session = SessionStore()
    request.user = alice
    return request


@pytest.mark.parametrize("key", sorted(FORM_KWARGS))
def test_is_valid_never_raises(key, ctx, allauth_request):
    from allauth.core import context as allauth_context

    cls = FORMS[key]

    @HYPOTHESIS
    @given(data=form_data(_field_names(cls)), flag=st.booleans())
    def check(data, flag):
        ctx["flag"] = flag
        ctx["request"] = allauth_request
        with allauth_context.request_context(allauth_request):
            form = cls(data=to_querydict(data), **FORM_KWARGS[key](ctx))
            valid = form.is_valid()
            if valid and key == "rituals.RitualForm":
                # What the view does next with a valid form must not raise either.
                ritual = form.preview_ritual()
                start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
                list(ritual.occurrences_after(start, count=5))
            if not valid:
                assert form.errors
            # Errors render (escaped) without raising.
            str(form.errors)

    check()
