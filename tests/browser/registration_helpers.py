"""Helpers of the registration journeys: a realistic data file, the regulator's TOTP device and the two sign-in forms
(the members' sign-in page and the regulator console's password + TOTP login)."""

import re

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.browser.conftest import Journey

# A known secret (hex, as TOTPDevice stores it): the test types the code an authenticator app would show.
TOTP_KEY = "3132333435363738393031323334353637383930"
TERMINALS = ("前湾港区", "董家口港区", "黄岛港区", "大港港区")
FIRST_MONTH = (2022, 7)
MONTHS = 50


def port_throughput_csv() -> bytes:
    """Monthly container throughput of the Qingdao port terminals: 4 terminals by 50 months = 200 rows, UTF-8.

    Cargo tonnage is missing for a few months (the terminal had not reported), so completeness is below 100."""
    lines = ["统计月份,港口,港区,集装箱吞吐量_标箱,货物吞吐量_万吨,外贸占比_百分比,班轮航线数"]
    for month_index in range(MONTHS):
        year, month = divmod(FIRST_MONTH[0] * 12 + FIRST_MONTH[1] - 1 + month_index, 12)
        for terminal_index, terminal in enumerate(TERMINALS):
            teu = 180_000 * (4 - terminal_index) + 2_300 * month_index + (month_index * 7919 + terminal_index) % 9_000
            tons = "" if (month_index + terminal_index) % 37 == 0 else f"{teu * 0.0125 + 3.7 * terminal_index:.1f}"
            share = 60 + (month_index * 3 + terminal_index * 5) % 25 + 0.5
            routes = 40 - terminal_index * 8 + month_index % 5
            lines.append(f"{year}-{month + 1:02d},青岛港,{terminal},{teu},{tons},{share:.1f},{routes}")
    return ("\n".join(lines) + "\n").encode()


def totp_device(user, name: str = "Authenticator app") -> TOTPDevice:
    """A confirmed TOTP device with the known key, as if the regulator had set it up on /accounts/two-factor/."""
    return TOTPDevice.objects.create(user=user, name=name, confirmed=True, key=TOTP_KEY)


def current_code(device: TOTPDevice) -> str:
    """The code the authenticator app shows now."""
    totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{totp.token():0{device.digits}d}"


def accept_dialogs(journey: Journey) -> None:
    """Answer "OK" to the confirmations (`data-confirm`) before submitting; Playwright would dismiss them."""
    journey.page.on("dialog", lambda dialog: dialog.accept())


def admin_sign_in(journey: Journey, email: str, password: str, device: TOTPDevice, *, screenshot: bool = False) -> None:
    """Log in to the regulator console with the password and the current TOTP code.

    django-otp lists a user's devices only once the password is right, and wants one chosen: the first attempt
    comes back with the device list (the only device chosen) and asks for the code again."""
    page = journey.page
    journey.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.get_by_label(re.compile(r"e-?mail", re.I)).fill(email)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    code = page.get_by_label("Authenticator code")
    expect(code).to_be_visible()
    code.fill(current_code(device))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_label("Authenticator device")).to_have_value(device.persistent_id)
    expect(page.get_by_role("alert")).to_contain_text("Your password is right")
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.get_by_label("Authenticator code").fill(current_code(device))
    if screenshot:
        journey.shot("admin login with two-factor")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/admin/$"))
    expect(page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))).to_be_visible()


def admin_decide(journey: Journey, decision: str, reason: str) -> None:
    """On an admin review page, take `decision` (an object-tools button) with a reason."""
    page = journey.page
    page.locator(".object-tools").get_by_role("link", name=decision, exact=True).click()
    page.get_by_label(re.compile("reason", re.I)).fill(reason)
    page.get_by_role("button", name=decision, exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(f"Decision recorded: {decision} — ")
    expect(page.locator(".messagelist .error")).to_have_count(0)
