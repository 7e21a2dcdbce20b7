"""The password-reset email, sent by a worker (see services.password_reset_request)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.links import clinic_url
from portal.models import Clinic, User


def password_reset_email_send(*, email: str, clinic: Clinic) -> int:
    """Email a single-use reset link to the active member of `clinic` with `email`.

    Returns how many emails went out (0 or 1).
    """
    users = User.objects.filter(
        email__iexact=email,
        is_active=True,
        memberships__clinic=clinic,
        memberships__is_active=True,
    )
    sent = 0
    for user in users:
        path = reverse(
            "password-reset-confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
            urlconf=settings.ROOT_URLCONF,
        )
        context = {
            "user": user,
            "clinic": clinic,
            "reset_url": clinic_url(clinic, path),
        }
        subject = render_to_string("portal/password_reset_subject.txt", context).strip()
        body = render_to_string("portal/password_reset_email.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
        sent += 1
    return sent
