"""Every page, systematically: phone-width layout, names and labels, headings, keyboard focus.

The product standard: "Every page works on a phone screen and with a keyboard; forms have
labels." The journeys in this folder cover what people do; this sweep visits every routed
page (the URL resolver's walk from tests/security/conftest.py, so a new page is swept
without anyone remembering to add it) in a populated space, as the person who sees it,
and checks each against the rules in ``PAGE_AUDIT_JS`` and ``keyboard_problems``.

A new route that answers GET is visited by the founder with the security sweeps' fillings.
If that does not show it (another role, other arguments), add it to ``VISITS``; if it is
not a page at all (a feed, JSON, a redirect), add it to ``NOT_PAGES`` with the reason.
Routes that refuse GET with a 405 (POST-only endpoints) are left out by themselves.

Also here: the pages an error shows (expired links, 404, the error templates), the local
mailbox, the phone menu, and forms used from the keyboard alone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts import services as accounts_services
from apps.core.tz import local_today
from apps.journal import services as journal_services
from apps.journal.models import Entry
from apps.notifications.mailbox import local_messages
from apps.rituals import services as ritual_services
from apps.rituals.models import Ritual
from apps.vault import services as vault_services
from tests.e2e.conftest import sign_in
from tests.factories import SpaceFactory, UserFactory
from tests.rituals.conftest import make_ritual
from tests.security.conftest import (
    Route,
    World,
    all_routes,
    build_space,
    db_snapshot,
    fillings,
    snapshot_diff,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LONG_URL = "https://cooking.example.com/recipes/2026/" + "grandmas-lemon-" * 6 + "cake"
LONG_WORD = "Sonntagsspaziergangsvorbereitungsgespräch"  # a German compound, as a title
LONG_EMAIL = "firstname.middlename.lastname@a-rather-long-family-domain.example.org"
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}  # STYLE.md: "works on a 360 px wide screen"
DESKTOP = {"width": 1280, "height": 900}
TAB_STOPS = 60  # Tab stops checked for a visible focus (most pages have fewer)

# Every routed pattern except Django's admin (its own look, staff only): allauth's account
# pages are what people see when they sign in, so they are swept too.
ROUTES = all_routes(skip=("admin/",))

# Routes the sweep leaves out because they are not pages a person visits in a browser.
# Each needs its reason.
NOT_PAGES = {
    "healthz": "JSON for the load balancer",
    "rituals:feed": "an .ics calendar feed for calendar apps",
    "vault:together_status": "JSON that the together page polls",
    "accounts:invitation_pending": "always a redirect (to the invitation or the dashboard)",
    "notifications:mailbox": "DEBUG and the Maildir backend only (a 404 under the test "
    "settings): test_the_local_mailbox sweeps it with those settings",
    "account_set_password": "a redirect to change-password: every account here has one",
    "account_confirm_login_code": "a redirect: sign-in by e-mailed code is off",
}

# Roles: who looks at a page. One browser context each, reused for all its pages.
ANON = "signed out"
FOUNDER = "founder"  # space one's founder (the default visitor)
PARTNER = "partner"  # space one's second member
SOLO = "solo"  # founder of a space whose partner has not joined yet (pending invitation)
SPACELESS = "no space"  # signed in, no space yet


@dataclass
class Pages:
    """The populated world the sweep visits (``world`` is the security sweeps' world)."""

    world: World
    users: dict  # role → user (None for ANON)
    solo_invitation_token: str
    checkin_token: str
    confirm_key: str
    reset_kwargs: dict
    long_ritual: object  # its title is one long word
    last_year: int  # the year a letter with a long title and a long link opened

    @property
    def one(self):
        return self.world.one


@dataclass(frozen=True)
class Visit:
    role: str = FOUNDER
    # The route's arguments; None: every filling of tests/security/conftest.py.
    kwargs: Callable[[Pages], dict] | None = None


# Pages that need another visitor or other arguments than the founder with the generic
# fillings, and shared pages that look different for another member.
VISITS: dict[str, list[Visit]] = {
    # Signed out.
    "home:landing": [Visit(ANON)],
    "account_login": [Visit(ANON)],
    "account_signup": [Visit(ANON)],
    "account_reset_password": [Visit(ANON)],
    "account_reset_password_done": [Visit(ANON)],
    "account_reset_password_from_key": [Visit(ANON, lambda p: p.reset_kwargs)],
    "account_reset_password_from_key_done": [Visit(ANON)],
    "account_email_verification_sent": [Visit(ANON)],
    "account_confirm_email": [Visit(ANON, lambda p: {"key": p.confirm_key})],
    "account_inactive": [Visit(ANON)],
    # Links from e-mails, opened without a session.
    "notifications:unsubscribe": [Visit(ANON)],
    "rituals:email_check_in": [
        Visit(ANON, lambda p: {"token": p.checkin_token, "action": "kept"}),
        Visit(ANON, lambda p: {"token": p.checkin_token, "action": "skipped"}),
    ],
    "accounts:invitation": [
        Visit(ANON, lambda p: {"token": p.solo_invitation_token}),
        Visit(SPACELESS, lambda p: {"token": p.solo_invitation_token}),
    ],
    # Signed in, before there is a space.
    "accounts:space_create": [Visit(SPACELESS)],
    # Shared pages, also as the partner and in a space still waiting for the partner.
    "home:dashboard": [Visit(FOUNDER), Visit(PARTNER), Visit(SOLO)],
    "accounts:space": [Visit(FOUNDER), Visit(SOLO)],
    "accounts:settings": [Visit(FOUNDER), Visit(SPACELESS)],
    "journal:index": [Visit(FOUNDER), Visit(PARTNER)],
    "journal:entry": [Visit(FOUNDER), Visit(PARTNER, lambda p: {"pk": p.one.entry.pk})],
    "vault:home": [Visit(FOUNDER), Visit(PARTNER)],
    "vault:year": [
        Visit(FOUNDER),
        Visit(FOUNDER, lambda p: {"year": p.last_year}),
        Visit(PARTNER, lambda p: {"year": p.one.opened_year}),
    ],
    "vault:together": [Visit(FOUNDER, lambda p: {"year": p.one.opened_year})],
    "rituals:detail": [
        Visit(FOUNDER),
        Visit(PARTNER),
        Visit(FOUNDER, lambda p: {"pk": p.long_ritual.pk}),
    ],
    # A letter's own pages exist for the author's draft only.
    "vault:edit": [Visit(FOUNDER, lambda p: {"pk": str(p.one.letters["draft"].pk)})],
    "vault:seal": [Visit(FOUNDER, lambda p: {"pk": str(p.one.letters["draft"].pk)})],
    "vault:delete": [Visit(FOUNDER, lambda p: {"pk": str(p.one.letters["draft"].pk)})],
}


@dataclass
class Planned:
    route: Route
    role: str
    kwargs: dict
    url: str = field(init=False)

    def __post_init__(self):
        self.url = self.route.reverse(**self.kwargs)

    def __str__(self):
        return f"{self.url} ({self.route.name}, {self.role})"


def _client(pages: Pages, role: str) -> Client:
    client = Client()
    if pages.users[role] is not None:
        client.force_login(pages.users[role])
    return client


def plan(pages: Pages) -> tuple[list[Planned], set[str]]:
    """The visits, and the names of the routes that refuse GET (POST-only endpoints)."""
    visits, post_only = [], set()
    clients: dict[str, Client] = {}
    for route in ROUTES:
        if route.name in NOT_PAGES:
            continue
        planned = []
        for visit in VISITS.get(route.name, [Visit()]):
            generic = visit.kwargs is None
            combos = fillings(route, pages.world) if generic else [visit.kwargs(pages)]
            planned += [Planned(route, visit.role, kwargs) for kwargs in combos]
        first = planned[0]
        client = clients.setdefault(first.role, _client(pages, first.role))
        if client.get(first.url).status_code == 405:
            post_only.add(route.name)
            continue
        visits += planned
    return visits, post_only


# --- The world ----------------------------------------------------------------------------


@pytest.fixture
def pages(transactional_db, django_capture_on_commit_callbacks) -> Pages:
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        # The security sweeps' space: both partners, a ritual with a check-in and reminder
        # settings, a shared entry with a heart and a reply, a private entry, a draft, a
        # sealed letter and letters opened in an earlier year, an invitation.
        one = build_space(label="one", anniversary=dt.date(2019, 2, 14), seal_years_later=0)
        now = timezone.now()
        today = local_today(one.space.time_zone, now)
        for days_ago in (1, 2, 4):  # a few more check-ins, for the heatmap and streaks
            ritual_services.ritual_check_in(
                ritual=one.ritual,
                user=one.first,
                day=today - dt.timedelta(days=days_ago),
                status="kept",
            )
        # What people paste: a long link, a long address. Nothing may push the page sideways.
        for years_ago in (0, 1):  # …and a year ago today, for "On this day"
            journal_services.entry_create(
                author=one.second,
                text=f"Found the recipe: {LONG_URL} thank you for cooking it",
                now=now - relativedelta(years=years_ago),
            )
        long_ritual = make_ritual(
            one.space,
            one.second,
            now=now,
            title=LONG_WORD,
            description=f"Recipe: {LONG_URL}",
            starts_on=dt.date(2026, 1, 4),
        )
        past = now - dt.timedelta(days=400)  # sealed over a year ago: it has opened since
        letter = vault_services.letter_create(
            author=one.second, title=LONG_WORD, body=f"Remember {LONG_URL}?\nI do."
        )
        vault_services.letter_seal(letter=letter, user=one.second, years_later=0, now=past)
        vault_services.letters_open_due(now=now)
        letter.refresh_from_db()
        assert letter.status == letter.Status.OPENED, letter.status
        solo_space = SpaceFactory(name="Solo space")
        solo = UserFactory(space=solo_space, display_name="Solo", joined_space_at=now)
        _, solo_token = accounts_services.invitation_create(
            space=solo_space, invited_by=solo, email=LONG_EMAIL
        )
        spaceless = UserFactory(email=LONG_EMAIL, display_name="Newcomer")
        # A second, unconfirmed address: the e-mail page lists it, its link confirms it.
        extra = EmailAddress.objects.create(
            user=one.first, email="one-extra@example.com", verified=False, primary=False
        )
    yield Pages(
        world=World(one=one, two=one),  # the fillings read space one only
        users={
            ANON: None,
            FOUNDER: one.first,
            PARTNER: one.second,
            SOLO: solo,
            SPACELESS: spaceless,
        },
        solo_invitation_token=solo_token,
        checkin_token=ritual_services.checkin_token(
            ritual_id=one.ritual.pk, day=today, user_id=one.second.pk
        ),
        confirm_key=EmailConfirmationHMAC(extra).key,
        reset_kwargs={
            "uidb36": user_pk_to_url_str(one.second),
            "key": default_token_generator.make_token(one.second),
        },
        long_ritual=long_ritual,
        last_year=letter.opens_on.year,
    )
    cache.clear()


# --- The rules ----------------------------------------------------------------------------

# Runs in the page; returns one line per problem, naming the element.
PAGE_AUDIT_JS = r"""
({phone}) => {
  const problems = [];
  const vw = window.innerWidth;
  const squash = (s) => (s || "").replace(/\s+/g, " ").trim();
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    else if (el.getAttribute("name")) s += `[name="${el.getAttribute("name")}"]`;
    else if (el.getAttribute("href")) s += `[href="${el.getAttribute("href")}"]`;
    else if (el.classList.length) s += "." + [...el.classList].slice(0, 3).join(".");
    const text = squash(el.innerText || el.value).slice(0, 40);
    if (text) s += ` "${text}"`;
    const where = el.parentElement && el.parentElement.closest("[data-testid], [id]");
    if (where && where.tagName !== "MAIN") {
      s += ` in ${where.tagName.toLowerCase()}` + (where.dataset.testid
        ? `[data-testid="${where.dataset.testid}"]` : `#${where.id}`);
    }
    return s;
  };
  const rendered = (el) =>
    el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const byIds = (ids) => squash((ids || "").split(/\s+/).filter(Boolean)
    .map((id) => document.getElementById(id)).filter(Boolean)
    .map((e) => e.textContent).join(" "));

  // No sideways scrolling, and nothing sticking out of the viewport that forces it (or
  // that is cut off). Elements inside a scrolling or clipping box (a .table-responsive)
  // are that box's business.
  const sw = document.documentElement.scrollWidth;
  if (sw > vw + 1) problems.push(`scrolls sideways: scrollWidth ${sw}px > ${vw}px`);
  const inClippingBox = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") return true;
    }
    return false;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!rendered(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;  // visually hidden (skip link, sr-only)
    if ((r.right > vw + 1 || r.left < -1) && !inClippingBox(el)) wide.push([el, r]);
  }
  // Text that runs out of its box (a long word in a block) sticks out without its box.
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !rendered(el) || inClippingBox(node)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (r.width > 1 && (r.right > vw + 1 || r.left < -1) && !wide.some(([o]) => o === el)) {
      wide.push([el, r]);
    }
  }
  for (const [el, r] of wide.filter(([el]) => !wide.some(([o]) => o !== el && o.contains(el)))
    .slice(0, 5)) {
    problems.push(`${describe(el)} sticks out of the ${vw}px viewport ` +
      `(left ${Math.round(r.left)}, right ${Math.round(r.right)})`);
  }
  if (!phone) return problems;

  // Form fields have a label: label[for], a wrapping label, aria-label or aria-labelledby.
  for (const el of document.querySelectorAll("input, select, textarea")) {
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (["hidden", "submit", "button", "reset", "image"].includes(type)) continue;
    const named = squash(el.getAttribute("aria-label")) ||
      byIds(el.getAttribute("aria-labelledby")) ||
      [...(el.labels || [])].some((l) => squash(l.textContent));
    if (!named) problems.push(`form field without a label: ${describe(el)}`);
  }
  // A field marked invalid says why: its error message is linked (aria-describedby on the
  // field or on its fieldset), so it is read out again whenever the field gets the focus.
  for (const el of document.querySelectorAll(
    "input.is-invalid, select.is-invalid, textarea.is-invalid, [aria-invalid=true]")) {
    const group = el.closest("fieldset");
    const said = byIds(el.getAttribute("aria-describedby")) ||
      (group && byIds(group.getAttribute("aria-describedby")));
    if (!said) problems.push(`invalid field without its error linked: ${describe(el)}`);
  }
  // Buttons and links have a name: text, aria-label, aria-labelledby, title, an image's alt.
  const controls = "a[href], button, input[type=submit], input[type=button], " +
    "input[type=reset], input[type=image], [role=button]";
  for (const el of document.querySelectorAll(controls)) {
    const named = squash(el.textContent) || squash(el.getAttribute("aria-label")) ||
      byIds(el.getAttribute("aria-labelledby")) || squash(el.getAttribute("title")) ||
      (el.tagName === "INPUT" && squash(el.value || el.getAttribute("alt"))) ||
      [...el.querySelectorAll("img[alt]")].some((i) => squash(i.alt));
    if (!named) problems.push(`${el.tagName === "A" ? "link" : "button"} without a name: ` +
      describe(el) + ` ${el.outerHTML.slice(0, 80)}`);
  }
  // Images have alt text (alt="" marks a decorative one).
  for (const el of document.querySelectorAll("img:not([alt]), input[type=image]:not([alt])")) {
    problems.push(`image without alt: ${el.outerHTML.slice(0, 80)}`);
  }
  for (const el of document.querySelectorAll("[role=img]")) {
    if (!squash(el.getAttribute("aria-label")) && !byIds(el.getAttribute("aria-labelledby"))) {
      problems.push(`role=img without a name: ${describe(el)}`);
    }
  }
  // One main heading and one main landmark.
  const h1s = [...document.querySelectorAll("h1")];
  if (h1s.length !== 1) {
    problems.push(`${h1s.length} <h1> elements, not one: ` +
      (h1s.map((h) => `"${squash(h.textContent)}"`).join(", ") || "none"));
  } else if (!squash(h1s[0].textContent)) {
    problems.push("the <h1> is empty");
  }
  const mains = document.querySelectorAll("main, [role=main]");
  if (mains.length !== 1) problems.push(`${mains.length} <main> landmarks, not one`);
  else if (h1s.length === 1 && !mains[0].contains(h1s[0])) {
    problems.push("the <h1> is outside <main>");
  }
  // Tab order follows the page: no positive tabindex.
  for (const el of document.querySelectorAll("[tabindex]")) {
    if (parseInt(el.getAttribute("tabindex"), 10) > 0) {
      problems.push(`positive tabindex=${el.getAttribute("tabindex")}: ${describe(el)}`);
    }
  }
  return problems;
}
"""

FOCUSED_JS = r"""
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const cs = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const outline = cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0;
  const shadow = cs.boxShadow && cs.boxShadow !== "none";
  // A date or time field's calendar button lives in the browser's own shadow DOM: with
  // the focus there the field itself does not match :focus, and Chromium rings the button.
  const browserDrawn = /^(date|time|month|week|datetime-local)$/.test(el.type || "") &&
    !el.matches(":focus");
  const firstNav = document.querySelector("nav a[href]");
  let s = el.tagName.toLowerCase();
  if (el.id) s += "#" + el.id;
  else if (el.getAttribute("name")) s += `[name="${el.getAttribute("name")}"]`;
  else if (el.getAttribute("href")) s += `[href="${el.getAttribute("href")}"]`;
  const text = (el.innerText || el.value || el.getAttribute("aria-label") || "")
    .replace(/\s+/g, " ").trim().slice(0, 40);
  return {
    describe: text ? `${s} "${text}"` : s,
    ring: outline || shadow || browserDrawn,
    visible: r.width > 1 && r.height > 1 && r.bottom > 0 && r.right > 0 &&
      r.left < window.innerWidth,
    skip: el.tagName === "A" && el.getAttribute("href") === "#main" &&
      /skip/i.test(el.textContent),
    firstNav: el === firstNav,
  };
}
"""


def keyboard_problems(page) -> list[str]:
    """The first Tab reaches the skip link (or the first nav link), and every Tab stop (up to
    TAB_STOPS) is on screen and shows where the focus is. A page that autofocuses a field
    starts the keyboard there instead."""
    problems = []
    autofocused = page.evaluate(FOCUSED_JS)
    if autofocused is not None and not autofocused["ring"]:
        problems.append(f"the autofocused {autofocused['describe']} shows no focus outline")
    for stop in range(1, TAB_STOPS + 1):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused is None:
            if stop == 1:
                problems.append("the first Tab focuses nothing")
            break  # a short page: the focus has left it for the browser's own controls
        if stop == 1 and autofocused is None and not (focused["skip"] or focused["firstNav"]):
            problems.append(
                f"the first Tab focuses {focused['describe']}, not a skip link or the first "
                "nav link"
            )
        if not focused["visible"]:
            problems.append(f"Tab stop {stop}: {focused['describe']} is focused but not shown")
        if not focused["ring"]:
            problems.append(f"Tab stop {stop}: {focused['describe']} shows no focus outline")
    return problems


def audit(page, planned: Planned) -> list[str]:
    """Visit a routed page; every rule on it, or why it was not seen."""
    response = page.goto(planned.url)
    status = response.status if response else None
    hint = "add it to VISITS with a visitor and arguments that show it, or to NOT_PAGES"
    if status != 200:
        return [f"answered {status}, not 200" + (f": {hint}" if status and status < 500 else "")]
    try:
        landed = resolve(urlsplit(page.url).path).view_name
    except Resolver404:
        landed = None
    if landed != planned.route.name:
        return [f"redirected to {urlsplit(page.url).path}, so the page was not seen: {hint}"]
    return audit_shown(page)


def audit_shown(page) -> list[str]:
    """Every rule on the page shown now: at phone width, then layout at the other widths."""
    problems = page.evaluate(PAGE_AUDIT_JS, {"phone": True})
    problems += keyboard_problems(page)
    for size in (SMALL_PHONE, DESKTOP):  # the other widths: layout only
        page.set_viewport_size(size)
        problems += [
            f"at {size['width']}px: {p}" for p in page.evaluate(PAGE_AUDIT_JS, {"phone": False})
        ]
    page.set_viewport_size(PHONE)
    return problems


@pytest.fixture
def contexts(browser, site, pages):
    """One browser context per role, signed in by a session cookie, reused for its pages."""
    opened = {}

    def _for(role):
        if role not in opened:
            # Reduced motion turns Bootstrap's transitions off, so a focus ring is read
            # where it ends rather than halfway through fading in.
            context = browser.new_context(viewport=PHONE, base_url=site, reduced_motion="reduce")
            context.set_default_timeout(10_000)
            user = pages.users[role]
            if user is not None:
                client = Client()
                client.force_login(user)
                cookie = client.cookies[settings.SESSION_COOKIE_NAME]
                context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": site}])
            opened[role] = context.new_page()
        return opened[role]

    yield _for
    for page in opened.values():
        page.context.close()


# --- The tests ----------------------------------------------------------------------------


def test_every_page_works_on_a_phone_and_with_a_keyboard(pages, contexts):
    visits, _ = plan(pages)
    failures = []
    for planned in visits:
        failures += [f"{planned}: {p}" for p in audit(contexts(planned.role), planned)]
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)


# Pages that answer with an error status by design: what an expired link, a mistyped
# address or a wrong account shows. (role, URL, expected status)
ERROR_VISITS: list[tuple[str, Callable[[Pages], str], int]] = [
    (ANON, lambda p: "/no-such-page/", 404),
    (FOUNDER, lambda p: "/journal/2147483646/", 404),
    (ANON, lambda p: reverse("accounts:invitation", args=["not-a-real-token-" * 3]), 404),
    # Signed in as someone already in a space: the invitation is not for this account.
    (FOUNDER, lambda p: reverse("accounts:invitation", args=[p.solo_invitation_token]), 403),
    (ANON, lambda p: reverse("rituals:email_check_in", args=["garbage-token", "kept"]), 404),
    (ANON, lambda p: reverse("notifications:unsubscribe", args=["garbage-token"]), 404),
]
# Error templates no request of the sweep reaches (a crash, a bad request, a CSRF
# failure): served as they render, at an address of the live server.
RENDERED_ERRORS = ["400.html", "403.html", "403_csrf.html", "500.html"]


# Forms sent empty: the page that comes back with the errors is a page too. Nothing here
# writes anything (every one of them refuses an empty form). (role, URL, button)
EMPTY_FORMS = [
    (ANON, "/accounts/login/", "Sign In"),
    (ANON, "/accounts/signup/", "Sign Up"),
    (ANON, "/accounts/password/reset/", "Reset My Password"),
    (FOUNDER, "/accounts/password/change/", "Change Password"),
    (FOUNDER, "/accounts/email/", "Add Email"),
    (SPACELESS, "/space/new/", None),
    (SOLO, "/space/", "Send invitation"),
    (FOUNDER, "/rituals/new/", "Save"),
    (FOUNDER, "/journal/write/", "Save entry"),
    (FOUNDER, "/vault/write/", "Save draft"),
]


def test_forms_sent_empty_show_their_errors_accessibly(pages, contexts):
    for role, _, _ in EMPTY_FORMS:
        contexts(role)  # signing in stamps last_login: before the snapshot
    before = db_snapshot()
    failures = []
    for role, url, button in EMPTY_FORMS:
        page = contexts(role)
        page.goto(url)
        main = page.locator("main")
        submit = (
            main.get_by_role("button", name=button, exact=True)
            if button
            else main.locator("form[method=post] [type=submit]").first
        )
        # The browser's own checks (required) would stop the form: the server's are tested.
        submit.evaluate(
            "b => { b.form.noValidate = true; for (const f of b.form.elements) "
            "if (f.type !== 'hidden' && f.type !== 'submit') f.value = ''; }"
        )
        with page.expect_navigation():
            submit.click()
        if not page.locator(".is-invalid, [aria-invalid=true]").count():
            failures.append(f"{url} ({role}): sent empty, it shows no invalid field")
        failures += [f"{url} ({role}, sent empty): {p}" for p in audit_shown(page)]
    assert not failures, "\n".join(failures)
    assert snapshot_diff(before, db_snapshot()) == []


def _serve(body: str):
    return lambda route: route.fulfill(status=500, body=body, content_type="text/html")


def test_error_pages(pages, contexts, site):
    failures = []
    for role, url_of, expected in ERROR_VISITS:
        page = contexts(role)
        url = url_of(pages)
        response = page.goto(url)
        if response.status != expected:
            failures.append(f"{url} ({role}): answered {response.status}, not {expected}")
            continue
        failures += [f"{url} ({role}, {expected}): {p}" for p in audit_shown(page)]
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    page = contexts(ANON)
    for name in RENDERED_ERRORS:
        body = render_to_string(name, {"reason": "CSRF token missing."}, request=request)
        url = f"{site}/__rendered__/{name}"
        page.route(url, _serve(body))
        page.goto(url)
        failures += [f"{name} (rendered): {p}" for p in audit_shown(page)]
    assert not failures, "\n".join(failures)


def test_the_local_mailbox(pages, contexts, settings, tmp_path):
    """The embedded default's inbox, where a local user reads the sign-in mails."""
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "apps.notifications.backends.MaildirBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    mail.send_mail(
        "[Keepsake] Join Solo in Keepsake",
        f"Solo invited you.\n\nAccept: {LONG_URL}\n",
        None,
        [LONG_EMAIL],
    )
    (key,) = [m.key for m in local_messages()]
    route = next(r for r in ROUTES if r.name == "notifications:mailbox")
    listing, message = Planned(route, ANON, {}), Planned(route, ANON, {})
    message.url += f"?m={key}"
    page = contexts(ANON)
    failures = [f"{p}: {problem}" for p in (listing, message) for problem in audit(page, p)]
    assert not failures, "\n".join(failures)
    expect(page.get_by_text("Solo invited you.")).to_be_visible()


def test_the_phone_menu_opens_from_the_keyboard(pages, contexts):
    """At phone width the navigation folds behind a button: Enter opens it, and every link
    in it fits, has a name and shows the focus."""
    page = contexts(FOUNDER)
    page.goto("/home/")
    for _ in range(3):  # skip link, brand, the menu button
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-controls')") == "nav-menu"
    page.keyboard.press("Enter")
    menu = page.locator("#nav-menu")
    expect(menu).to_be_visible()
    expect(page.locator("[aria-controls=nav-menu]")).to_have_attribute("aria-expanded", "true")
    problems = page.evaluate(PAGE_AUDIT_JS, {"phone": True})
    items = menu.locator("a[href], button").count()
    assert items >= 6, items
    for stop in range(items):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        inside = page.evaluate(
            "document.getElementById('nav-menu').contains(document.activeElement)"
        )
        assert inside, f"Tab stop {stop + 1} in the open menu left it: {focused}"
        if not (focused["ring"] and focused["visible"]):
            problems.append(f"menu item {focused['describe']}: focus not shown")
    assert not problems, "\n".join(problems)


def test_every_routed_get_page_is_swept_or_excluded(pages):
    """A new page is swept by itself; this shows the list of what is not is honest."""
    names = {r.name for r in ROUTES}
    assert set(NOT_PAGES) <= names, set(NOT_PAGES) - names
    assert set(VISITS) <= names, set(VISITS) - names
    assert not set(NOT_PAGES) & set(VISITS)
    visits, post_only = plan(pages)
    swept = {v.route.name for v in visits}
    for route in ROUTES:
        assert route.name in swept | post_only | set(NOT_PAGES), route.name
    # POST-only really means the GET is refused; the explicit roles all get a visit.
    assert {"rituals:check_in", "journal:appreciate", "portability:download"} <= post_only
    assert not post_only & set(VISITS), post_only & set(VISITS)
    assert {v.role for v in visits} == {ANON, FOUNDER, PARTNER, SOLO, SPACELESS}
    for expected in (
        "home:landing",
        "account_login",
        "account_signup",
        "account_email",
        "account_reset_password",
        "vault:seal",
        "journal:edit",
        "rituals:edit",
    ):
        assert expected in swept, expected


# --- Keyboard-only forms --------------------------------------------------------------------


def test_forms_work_from_the_keyboard_alone(new_page, alice, bob):
    """Enter in a text field submits its form; Tab and Space reach the rest."""
    page = new_page()
    sign_in(page, alice.email)

    # The skip link takes the focus past the navigation, into the page.
    page.goto("/home/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")

    # The dashboard's quick entry: a text area (Enter is a new line there), then Tab to the
    # checkboxes (Space ticks one) and on to its button (Enter presses it).
    page.get_by_label("What are you grateful for?").focus()
    page.keyboard.type("Bob fixed the bike.")
    page.keyboard.press("Enter")
    page.keyboard.type("And oiled the chain.")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # "About my partner"
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Save entry":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_text("Saved and shared.")).to_be_visible()
    entry = Entry.objects.get(author=alice)
    assert entry.text.splitlines() == ["Bob fixed the bike.", "And oiled the chain."]
    assert entry.about_partner

    # The journal's search: Enter in the field finds.
    page.goto("/journal/")
    page.get_by_label("Search").focus()
    page.keyboard.type("bike")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"q=bike"))
    expect(page.get_by_test_id("entry")).to_have_count(1)

    # A new ritual: Enter in the title saves it (the form's first button, not the preview).
    page.goto("/rituals/new/")
    page.get_by_label("Monday").focus()
    page.keyboard.press("Space")
    page.get_by_label("At (your space's time)").focus()
    page.keyboard.type("19:30")
    page.get_by_label("Title").focus()
    page.keyboard.type("Tea on the balcony")
    page.keyboard.press("Enter")
    expect(page.get_by_text("“Tea on the balcony” is now one of your rituals.")).to_be_visible()
    assert Ritual.objects.filter(space=alice.space, title="Tea on the balcony").exists()
