"""Sign-in and password forms for clinic staff."""

from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms

from portal.errors import ApplicationError
from portal.middleware import client_ip
from portal.services import user_authenticate, user_set_password


class SignInForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.user = user_authenticate(
                email=data["email"],
                password=data["password"],
                clinic=self.request.tenant,
                ip=client_ip(self.request),
                user_agent=self.request.headers.get("User-Agent", ""),
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message)
        return data


class ClinicPasswordResetForm(auth_forms.PasswordResetForm):
    """Sends reset links only to active members of the clinic the request is for."""

    def __init__(self, *args, clinic=None, **kwargs):
        self.clinic = clinic
        super().__init__(*args, **kwargs)

    def get_users(self, email: str):
        users = super().get_users(email)
        return (
            user
            for user in users
            if user.memberships.filter(clinic=self.clinic, is_active=True).exists()
        )


class ServiceSetPasswordForm(auth_forms.SetPasswordForm):
    """Django's set-password form, saving through the service (history, expiry)."""

    def save(self, commit: bool = True):
        user_set_password(user=self.user, password=self.cleaned_data["new_password1"])
        return self.user


class ServicePasswordChangeForm(auth_forms.PasswordChangeForm):
    def save(self, commit: bool = True):
        user_set_password(user=self.user, password=self.cleaned_data["new_password1"])
        return self.user
