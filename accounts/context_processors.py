"""Navigation for the base layout: the signed-in user's organisations and the active one.

Both values are callables, which templates call on first use: a page that never shows them costs no query,
and a page that does costs one (the memberships are loaded once per request, see accounts.web).
"""

from functools import partial

from django.http import HttpRequest

from accounts.web import current_membership, user_memberships


def navigation(request: HttpRequest) -> dict:
    return {
        "nav_memberships": partial(user_memberships, request),
        "nav_current": partial(current_membership, request),
    }
