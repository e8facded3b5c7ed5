from django.conf import settings
from django.core import signing
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from . import services
from .mailbox import local_messages
from .models import Category


@csrf_exempt  # RFC 8058: mail clients POST the one-click unsubscribe without a form
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET shows a button (mail scanners follow links); POST unsubscribes."""
    try:
        user_id, category = services.unsubscribe_token_read(token)
    except signing.BadSignature:
        return render(request, "notifications/unsubscribe_invalid.html", status=404)
    label = Category(category).label
    if request.method == "POST":
        if not services.unsubscribe(user_id=user_id, category=category):
            return render(request, "notifications/unsubscribe_invalid.html", status=404)
        return render(request, "notifications/unsubscribe_done.html", {"label": label})
    return render(request, "notifications/unsubscribe_confirm.html", {"label": label})


@require_safe
def local_mailbox(request):
    """The embedded default's inbox, so a local user can read sign-in mails. DEBUG only."""
    if not (settings.DEBUG and settings.EMAIL_BACKEND.endswith("MaildirBackend")):
        raise Http404
    messages = local_messages()
    selected = None
    key = request.GET.get("m")
    if key:
        selected = next((m for m in messages if m.key == key), None)
    return render(
        request, "notifications/mailbox.html", {"mail": messages[:100], "selected": selected}
    )
