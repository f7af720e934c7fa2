"""The API documentation pages (Swagger UI, ReDoc) work in a real browser under their CSP, from the app's own files."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

# ReDoc 2.5 adds one empty <style> before it is given the nonce, and its footer shows Redocly's logo from their CDN:
# the CSP blocks both (nothing is fetched), and the page works without them.
REDOC_BLOCKED = {("style-src-elem", "inline"), ("img-src", "https://cdn.redoc.ly/redoc/logo-mini.svg")}
RECORD_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (e) => {
    (window.cspViolations = window.cspViolations || []).push([e.effectiveDirective, e.blockedURI]);
});"""


def browse(chromium, url: str, ready: str, count: str) -> dict:
    """Open `url` until `ready` shows; how much it rendered, what the CSP blocked and where requests went."""
    context = chromium.new_context()
    page = context.new_page()
    sent, errors = [], []
    page.on("requestfinished", lambda request: sent.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(url)
    page.wait_for_selector(ready, timeout=30_000)
    page.wait_for_load_state("networkidle")
    seen = {"rendered": page.evaluate(count), "sent": sent, "errors": errors,
            "blocked": {tuple(v) for v in page.evaluate("window.cspViolations || []")}}  # fmt: skip
    context.close()
    return seen


@pytest.mark.parametrize(
    ("path", "ready", "count", "may_block"),
    [
        # Swagger UI renders a long list of operations virtually (only those in view are in the page): ask it.
        ("/api/v1/docs/", ".opblock", "ui.specSelectors.operations().size", set()),
        ("/api/v1/redoc/", "[data-section-id]", "document.querySelectorAll('[data-section-id]').length", REDOC_BLOCKED),
    ],
)
def test_a_documentation_page_works_in_a_browser_under_the_csp(chromium, live_server, path, ready, count, may_block):
    seen = browse(chromium, live_server.url + path, ready, count)

    assert seen["rendered"] > 50  # the operations of the schema are on the page
    assert seen["errors"] == []
    assert seen["blocked"] <= may_block
    assert all(url.startswith(live_server.url) for url in seen["sent"] if not url.startswith(("data:", "blob:")))
