"""The pages the browser sweeps open (journey 5 and the UI-quality sweep), on the schema-wide tests' world
(tests.api.world: `org` buys, sells and operates public data, `other` is its trading partner): the key pages of the
four journeys, who opens each, and the checks every page shares.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction

from marketplace.models import Entitlement
from tests.api import world as api_world
from tests.api.world import World
from tests.browser.conftest import Journey, sign_in_by_cookie
from tests.factories.accounts import owner_of

__all__ = ["World", "build_world"]

# Who opens a page: nobody signed in, `org`'s owner (merchant and buyer), `other`'s owner (its partner: the merchant
# `org` buys from and the operator of the dataset `org` queries).
PERSONS = ("visitor", "org", "other")
CJK = re.compile(r"[\u3400-\u9fff]")


@contextmanager
def without_tasks() -> Iterator[None]:
    """Write in one transaction whose on-commit work (Celery tasks, webhook deliveries, mail) is dropped: what it
    queues stays queued, as it would with a busy worker."""
    with transaction.atomic():
        yield
        connection.run_on_commit.clear()


def build_world() -> World:
    """The API tests' world, committed for the live server. It is written, as there, without its on-commit work: it
    runs its tasks by hand, and its webhook deliveries and mail must not go out."""
    with without_tasks():
        return api_world.build_world()


@dataclass(frozen=True)
class Page:
    """A page to open: a name for its screenshot, its path and who opens it. A page `named` by its data (a product's
    title, a contract's number) has a heading in the data's language: its section headings are the page's own."""

    name: str
    path: str
    who: str
    named: bool = False


def key_pages(world: World) -> list[Page]:
    """The key pages of the four journeys (registration, review and listing, buying, the sandbox), the dashboards,
    the exchange statistics and the valuation pages."""
    ids = world.ids
    bought = Entitlement.objects.get(pk=ids["entitlements"]).contract_id
    return [
        Page("home", "/", "visitor"),
        Page("sign-up", "/accounts/register/", "visitor"),
        Page("sign-in", "/accounts/login/", "visitor"),
        Page("certificate lookup", "/registry/certificates/", "visitor"),
        Page("certificate", f"/registry/certificates/{ids['number']}/", "visitor", named=True),
        Page("exchange statistics", "/market/statistics/", "visitor"),
        Page("catalogue", "/market/", "visitor"),
        Page("listing", f"/market/listings/{ids['listing_id']}/", "org", named=True),
        Page("dashboard", "/", "org"),
        Page("organisation", "/accounts/organization/", "org", named=True),
        Page("products", "/registry/", "org"),
        Page("product form", "/registry/products/new/", "org"),
        Page("product", f"/registry/products/{ids['products']}/", "org", named=True),
        Page("version upload", f"/registry/products/{ids['products']}/versions/new/", "org"),
        Page("version profile", f"/registry/versions/{ids['versions']}/", "org", named=True),
        Page("valuations", "/valuation/", "org"),
        Page("valuation history", f"/valuation/products/{ids['products']}/", "org", named=True),
        Page("valuation", f"/valuation/{ids['valuations']}/", "org", named=True),
        Page("revaluation", f"/valuation/revaluations/{ids['revaluations']}/", "org"),
        Page("merchant listings", "/market/my/listings/", "org"),
        Page("merchant dashboard", "/market/dashboard/sales/", "org"),
        Page("settlement", "/market/settlement/", "org"),
        Page("webhooks", "/integrations/", "org"),
        Page("webhook endpoint", f"/integrations/endpoints/{ids['webhook-endpoints']}/", "org", named=True),
        Page("contracts", "/market/contracts/", "org"),
        Page("contract", f"/market/contracts/{bought}/", "org", named=True),
        Page("pay", f"/market/contracts/{ids['contracts']}/pay/", "org"),
        Page("downloads", "/market/my/access/", "org"),
        Page("demands", "/market/demands/", "org"),
        Page("buyer dashboard", "/market/dashboard/purchases/", "org"),
        Page("workspaces", "/sandbox/workspaces/", "org"),
        Page("workspace", f"/sandbox/workspaces/{ids['sandbox/workspaces']}/", "org", named=True),
        Page("run", f"/sandbox/runs/{ids['sandbox/runs']}/", "org"),
        Page("datasets", "/sandbox/datasets/", "org"),
        Page("dataset", f"/sandbox/datasets/{ids['sandbox/datasets']}/", "org", named=True),
        Page("export queue", "/sandbox/exports/", "other"),
        Page("export review", f"/sandbox/exports/{ids['sandbox/exports']}/", "other"),
    ]


def people(journeys, world: World, *, language: str = "en", phone: bool = False) -> dict[str, Journey]:
    """One browser tab per person of the world, signed in (the visitor is not)."""
    tabs = {}
    for who in PERSONS:
        tab = journeys(who, language=language, phone=phone)
        if who != "visitor":
            sign_in_by_cookie(tab, owner_of(getattr(world, who)))
        tabs[who] = tab
    return tabs


# Form fields a person types into or picks from that nothing names: no <label for>, no wrapping label, no aria-label.
# The card form inside [data-card-element] is Stripe.js's own (an iframe from Stripe; localstripe's in tests).
UNLABELLED_FIELDS_JS = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((el) => el.type !== "hidden" && !el.closest("[hidden], [data-card-element]")
                  && el.getClientRects().length > 0)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby") && !el.closest("label"))
  .map((el) => el.outerHTML.slice(0, 200))"""


def unlabelled_fields(journey: Journey) -> list[str]:
    return journey.page.evaluate(UNLABELLED_FIELDS_JS)


def heading_and_nav(journey: Journey, page: Page) -> tuple[str, str]:
    """The page's own heading (its first, or the first section's when the first is the data's name) and its main
    navigation, as shown."""
    heading = journey.page.locator("main h2" if page.named else "main h1").first
    return heading.inner_text(), journey.page.locator("nav.main-nav").inner_text()
