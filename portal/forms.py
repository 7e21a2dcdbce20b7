"""Sign-in and password forms for clinic staff and platform operators."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms

from portal.errors import ApplicationError
from portal.services import user_set_password
from portal.signin import signin_authenticate


class SignInForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.user = signin_authenticate(
                request=self.request,
                email=data["email"],
                password=data["password"],
                clinic=self.request.tenant,
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return data


class PlatformSignInForm(AdminAuthenticationForm):
    """The platform admin's sign-in, through the same rules as every other door."""

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email and password:
            try:
                self.user_cache = signin_authenticate(
                    request=self.request, email=email, password=password, clinic=None
                )
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message) from exc
        return self.cleaned_data


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
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
