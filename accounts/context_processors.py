"""Navigation for the base layout: the signed-in user's organisations and what their roles allow."""

from django.http import HttpRequest

from accounts.models import Membership


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_memberships": []}
    memberships = list(Membership.objects.filter(user=user).select_related("organization"))
    return {"nav_memberships": memberships}
