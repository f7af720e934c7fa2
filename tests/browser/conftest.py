"""Browser journeys (issue 8): Playwright drives Debian's Chromium against a live server on PostgreSQL + localstripe.

Chromium comes from apt (`make test` installs it; no `playwright install`). Each journey opens one browser context per
person (merchant, regulator, buyer, ...), each with its own cookies and language. Every page a journey opens is
watched: a console error, an uncaught script error, a refused resource (a CSP violation shows up as a console error)
or a failed request to the app fails the test at its end. `Journey.shot(name)` saves a full-page screenshot under
test-output/screenshots/<test name>/.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import get_resolver

# Playwright's sync API runs an event loop in this thread; the ORM calls the test itself makes are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "test-output/screenshots"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    """Mark every test here `browser`; without Chromium they are skipped, except under CI where that is an error."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if CHROMIUM is None and not os.environ.get("CI"):
                item.add_marker(pytest.mark.skip(reason="needs Chromium (apt-get install chromium)"))


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole run."""
    if CHROMIUM is None:
        pytest.fail("Chromium is missing: apt-get install chromium (make test does this)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


class Journey:
    """One person's browser tab on the live server, with its problems collected and its screenshots numbered."""

    def __init__(self, context, base_url: str, shots: Path, who: str) -> None:
        self.context = context
        self.base_url = base_url
        self.shots = shots
        self.who = who
        self.problems: list[str] = []
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("response", self._on_response)

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _on_request_failed(self, request) -> None:
        # A navigation the page itself replaces (a redirect after a form) is aborted by Chromium, not failed.
        if request.url.startswith(self.base_url) and request.failure not in ("net::ERR_ABORTED",):
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _on_response(self, response) -> None:
        if response.url.startswith(self.base_url) and response.status >= 500:
            self.problems.append(f"server error {response.status}: {response.url}")

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def goto(self, path: str):
        """Open `path` (relative to the live server) and wait until the page has loaded."""
        response = self.page.goto(self.url(path), wait_until="load")
        assert response is not None and response.status < 400, f"{path}: {response and response.status}"
        return response

    def shot(self, name: str) -> Path:
        """A full-page screenshot, numbered in the order the journey took them."""
        self.shots.mkdir(parents=True, exist_ok=True)
        # From the top, unfocused: scrolled down, the sticky header would be drawn across the middle of the picture.
        self.page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
        number = len(list(self.shots.glob("*.png"))) + 1
        path = self.shots / f"{number:02d}-{self.who}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def forget_problems(self, pattern: str) -> None:
        """Drop the problems a step expects (Chromium logs the 402 Stripe answers a declined card with as a console
        error); any other problem still fails the test."""
        self.problems[:] = [problem for problem in self.problems if not re.search(pattern, problem)]

    def assert_fits_width(self) -> None:
        """Nothing on the page is wider than the viewport (no sideways scrolling at phone width)."""
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{self.page.url} is {overflow}px wider than the viewport"


@pytest.fixture
def journeys(chromium, live_server, request) -> Iterator:
    """`journeys(who, language="en", phone=False)` opens a new person's tab; all are checked for problems at the end."""
    # Load the URLconf here: the live server answers Chromium's first, parallel requests in several threads, and two
    # of them importing it at once fail half-way (a circular-import error inside DRF).
    get_resolver().url_patterns
    opened: list[Journey] = []
    shots = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    if shots.exists():
        shutil.rmtree(shots)

    def open_journey(who: str, *, language: str = "en", phone: bool = False) -> Journey:
        context = chromium.new_context(
            viewport=PHONE if phone else DESKTOP,
            locale="zh-CN" if language.startswith("zh") else "en-GB",
            extra_http_headers={"Accept-Language": "zh-Hans" if language.startswith("zh") else "en"},
        )
        journey = Journey(context, live_server.url, shots, who)
        if language != django_settings.LANGUAGE_CODE:
            cookie = {"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}
            context.add_cookies([cookie])
        opened.append(journey)
        return journey

    yield open_journey
    problems = [problem for journey in opened for problem in journey.problems]
    for journey in opened:
        journey.context.close()
    assert not problems, "the browser saw problems:\n" + "\n".join(problems)


def sign_in_by_cookie(journey: Journey, user) -> None:
    """Give `journey` a signed-in session for `user` without the sign-in form (for people whose sign-in is not what
    the journey is about)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    journey.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": journey.base_url}]
    )


def sign_in(journey: Journey, email: str, password: str) -> None:
    """Sign in through the sign-in page, as a person would (in any language: the fields are found by their labels'
    targets, which also proves the labels are there)."""
    journey.goto("/accounts/login/")
    page = journey.page
    for name, value in (("username", email), ("password", password)):
        field = page.locator(f"input[name={name}]")
        field_id = field.get_attribute("id")
        assert page.locator(f"label[for={field_id}]").count() == 1, f"the {name} field has no label"
        field.fill(value)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
