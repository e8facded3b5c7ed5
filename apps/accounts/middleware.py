import zoneinfo

from django.utils import timezone
from django.utils.functional import SimpleLazyObject


def _space(request):
    user = request.user
    return user.space if user.is_authenticated else None


class SpaceMiddleware:
    """Gives every request ``request.space`` and shows times in the viewer's zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.space = SimpleLazyObject(lambda: _space(request))
        if request.user.is_authenticated:
            timezone.activate(zoneinfo.ZoneInfo(request.user.zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
