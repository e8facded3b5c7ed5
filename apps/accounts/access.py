"""How every view reaches the space: signed in, in a space, objects through selectors.

A view finds an object with ``get_object_or_404(selectors.<things>_visible_to(request.user),
pk=pk)``: an object of another space is a 404 (never a 403), so a stranger learns
nothing, not even that the object exists.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect


def space_required(view):
    """Signed in and in a space; otherwise to sign-in or to creating a space."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.space_id is None:
            return redirect("accounts:space_create")
        return view(request, *args, **kwargs)

    return wrapper
