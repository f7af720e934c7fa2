"""Journey 5 (issue 8): the same pages in Simplified Chinese. The key pages of the four journeys — sign-up,
organisation, product form, version profile, certificate lookup, catalogue, listing, contract, pay page, downloads,
sandbox workspace and run, export review, dashboards, exchange statistics, valuations — opened by people whose language
is zh-hans: the document says so, its navigation and its heading are in Chinese, and the browser sees no problem (the
`journeys` fixture fails the test on any console error)."""

import pytest

from tests.browser.pages import CJK, build_world, heading_and_nav, key_pages, people

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_key_pages_are_in_simplified_chinese(journeys):
    # given
    world = build_world()
    tabs = people(journeys, world, language="zh-hans")
    wrong = []
    for page in key_pages(world):
        # when
        tab = tabs[page.who]
        tab.goto(page.path)
        tab.shot(page.name)
        # then
        lang = tab.page.locator("html").get_attribute("lang")
        heading, nav = heading_and_nav(tab, page)
        if lang != "zh-hans" or not CJK.search(heading) or not CJK.search(nav):
            wrong.append(f"{page.path}: lang={lang!r}, heading={heading!r}, navigation={nav[:80]!r}")
    assert not wrong, "pages not in Chinese:\n" + "\n".join(wrong)


def test_a_visitor_switches_to_chinese_and_back(journeys):
    # given
    visitor = journeys("visitor")
    visitor.goto("/market/")
    # when
    visitor.page.get_by_role("button", name="简体中文").click()
    # then
    assert visitor.page.locator("html").get_attribute("lang") == "zh-hans"
    assert CJK.search(visitor.page.locator("main h1").inner_text())
    visitor.page.get_by_role("button", name="English").click()
    assert visitor.page.locator("html").get_attribute("lang") == "en"
