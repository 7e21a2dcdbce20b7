"""Notification pages: my notifications, mark read, the navigation badge, preferences.

Every route reads and writes the signed-in member's own notifications only;
another member's notification is "not found".
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from clinic.forms.records import NotificationPreferencesForm
from clinic.models import Notification
from clinic.selectors.notifications import (
    notification_kinds_received,
    notifications_of,
    unread_notification_count,
)
from clinic.services.notifications import (
    notification_mark_all_read,
    notification_mark_read,
    notification_preferences_set,
)
from clinic.views.helpers import clinic_time
from portal.decorators import staff_required
from portal.pagination import LookaheadPaginator

PER_PAGE = 50


@never_cache
@staff_required
@clinic_time
def notification_list(request: HttpRequest) -> HttpResponse:
    unread = request.GET.get("unread") == "1"
    page = LookaheadPaginator(
        notifications_of(member=request.membership, unread=unread), PER_PAGE
    ).page(request.GET.get("page") or 1)
    return render(
        request,
        "clinic/notification_list.html",
        {"page": page, "unread_only": unread},
    )


@never_cache
@staff_required
def notification_badge(request: HttpRequest) -> HttpResponse:
    """The navigation's count (htmx swaps it in when the live event says it changed)."""
    unread = unread_notification_count(member=request.membership)
    return render(request, "clinic/_notification_badge.html", {"unread": unread})


@require_POST
@staff_required
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one read; with go=1, then open what it links to."""
    member = request.membership
    notification = notifications_of(member=member).filter(pk=pk).first()
    if notification is None:
        raise Http404("No such notification.")
    try:
        notification_mark_read(member=member, notification=notification)
    except Notification.DoesNotExist as exc:
        raise Http404("No such notification.") from exc
    target = notification.url if request.POST.get("go") == "1" else ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect(target)
    return redirect("notification-list")


@require_POST
@staff_required
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = notification_mark_all_read(member=request.membership)
    messages.success(
        request, f"{count} marked read." if count else "Nothing was unread."
    )
    return redirect("notification-list")


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def notification_preferences(request: HttpRequest) -> HttpResponse:
    member = request.membership
    if request.method == "POST":
        form = NotificationPreferencesForm(request.POST)
        if form.is_valid():
            notification_preferences_set(
                member=member, receive=form.cleaned_data["receive"]
            )
            messages.success(request, "Preferences saved.")
            return redirect("notification-preferences")
        status = 400
    else:
        form = NotificationPreferencesForm(
            initial={"receive": sorted(notification_kinds_received(member=member))}
        )
        status = 200
    return render(
        request, "clinic/notification_preferences.html", {"form": form}, status=status
    )
