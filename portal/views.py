"""Staff sign-in, sign-out, password reset and change; the public landing page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from portal.decorators import role_required
from portal.forms import (
    PasswordResetRequestForm,
    ServicePasswordChangeForm,
    ServiceSetPasswordForm,
    SignInForm,
)
from portal.models import Role, SecurityEvent
from portal.net import client_ip
from portal.security import security_event_record
from portal.selectors import (
    password_expired,
    routable_clinics,
    security_events_for_clinic,
)
from portal.services import password_reset_request
from portal.signin import address_attempt_allowed


def public_home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "portal/public_home.html", {"clinic_count": routable_clinics().count()}
    )


def _event(request: HttpRequest, kind: str, user=None, email: str = "") -> None:
    security_event_record(
        kind=kind,
        clinic=request.tenant,
        user=user,
        email=email,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )


def too_many_attempts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/too_many_attempts.html",
        {"retry_url": request.get_full_path()},
        status=429,
    )


def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.membership is not None:
        return redirect("home")
    if request.method == "POST" and not address_attempt_allowed(request):
        return too_many_attempts(request)
    form = SignInForm(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.user, backend="django.contrib.auth.backends.ModelBackend")
        _event(request, SecurityEvent.Kind.SIGN_IN, user=form.user)
        if password_expired(user=form.user, clinic=request.tenant):
            messages.warning(
                request, "Your password has expired. Choose a new one to continue."
            )
            return redirect("password-change")
        next_url = request.GET.get("next", "")
        return redirect(
            next_url
            if next_url.startswith("/") and not next_url.startswith("//")
            else "home"
        )
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/sign_in.html", {"form": form}, status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        _event(request, SecurityEvent.Kind.SIGN_OUT, user=request.user)
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("login")


def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link; the answer is the same whether the email is known or not."""
    if request.method == "POST" and not address_attempt_allowed(request):
        return too_many_attempts(request)
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_reset_request(
            email=form.cleaned_data["email"],
            clinic=request.tenant,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        return redirect("password-reset-done")
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/password_reset.html", {"form": form}, status=status)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portal/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portal/password_reset_confirm.html"
    form_class = ServiceSetPasswordForm
    success_url = reverse_lazy("login")

    def form_valid(self, form):
        response = super().form_valid(form)
        _event(self.request, SecurityEvent.Kind.RESET_COMPLETED, user=form.user)
        messages.success(self.request, "Your password is changed. Sign in with it now.")
        return response


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = ServicePasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, request.user)
        _event(request, SecurityEvent.Kind.PASSWORD_CHANGED, user=request.user)
        messages.success(request, "Your password is changed.")
        return redirect("home")
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/password_change.html", {"form": form}, status=status)


@role_required(Role.ADMIN)
def security_events(request: HttpRequest) -> HttpResponse:
    page = Paginator(security_events_for_clinic(clinic=request.tenant), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "portal/security_events.html", {"page": page})
