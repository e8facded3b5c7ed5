"""How every view reaches the space: through ``request.space``, never by a bare id.

An object of another space is a 404 (never a 403): a stranger learns nothing,
not even that the object exists.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404, redirect


def space_required(view):
    """Signed in and in a space; otherwise to sign-in or to creating a space."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.space_id is None:
            return redirect("accounts:space_create")
        return view(request, *args, **kwargs)

    return wrapper


class SpaceRequiredMixin(LoginRequiredMixin):
    """For class-based views: same rule; querysets are filtered to the space."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.space_id is None:
            return redirect("accounts:space_create")
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return super().get_queryset().filter(space_id=self.request.user.space_id)


def space_get_object_or_404(request, queryset, **lookup):
    """``get_object_or_404`` limited to the request's space."""
    if hasattr(queryset, "objects"):
        queryset = queryset.objects.all()
    return get_object_or_404(queryset, space_id=request.user.space_id, **lookup)
