"""The browser harness itself: a page opens, is screenshotted, fits a phone, and a script error fails the test."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_home_page_opens_without_problems_and_fits_a_phone(journeys):
    visitor = journeys("visitor", phone=True)
    visitor.goto("/")
    visitor.assert_fits_width()
    assert visitor.shot("home").exists()
