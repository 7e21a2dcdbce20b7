"""Billing set-up in the clinic admin: the clinic's billing identity, payers, fees, NPIs.

Saves go through billing.services (validation, audit); claims and money are
shown read-only here: they move only through their services and pages.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from billing.actors import membership_of
from billing.models import (
    BillingSettings,
    Claim,
    FeeScheduleEntry,
    Payer,
    ProviderBilling,
)
from billing.services import (
    billing_settings_update,
    fee_schedule_set,
    payer_create,
    payer_update,
    provider_billing_set,
)
from billing.services.setup import PAYER_FIELDS, SETTINGS_FIELDS
from clinic.admin.site import ClinicModelAdmin, clinic_admin
from portal.errors import ApplicationError


class ServiceSavingAdmin(ClinicModelAdmin):
    """Saves through a service; its refusal comes back as a message, nothing saved."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        try:
            self.save_through_service(request, obj, form, change)
        except (ValidationError, ApplicationError) as exc:
            text = (
                exc.message
                if isinstance(exc, ApplicationError)
                else "; ".join(exc.messages)
            )
            self.message_user(request, f"Not saved: {text}", level=messages.ERROR)

    def save_through_service(self, request, obj, form, change) -> None:
        raise NotImplementedError


@admin.register(BillingSettings, site=clinic_admin)
class BillingSettingsAdmin(ServiceSavingAdmin):
    fields = SETTINGS_FIELDS
    readonly_fields = ()

    def has_add_permission(self, request) -> bool:
        return (
            super().has_add_permission(request) and not BillingSettings.objects.exists()
        )

    def save_through_service(self, request, obj, form, change) -> None:
        billing_settings_update(
            actor=membership_of(request),
            **{name: form.cleaned_data[name] for name in SETTINGS_FIELDS},
        )


@admin.register(Payer, site=clinic_admin)
class PayerAdmin(ServiceSavingAdmin):
    list_display = (
        "name",
        "payer_id",
        "filing_indicator",
        "timely_filing_days",
        "is_active",
    )
    search_fields = ("name", "payer_id")
    fields = PAYER_FIELDS

    def save_through_service(self, request, obj, form, change) -> None:
        data = {name: form.cleaned_data[name] for name in PAYER_FIELDS}
        if change:
            payer_update(payer=obj, actor=membership_of(request), **data)
        else:
            obj.pk = payer_create(actor=membership_of(request), **data).pk


@admin.register(FeeScheduleEntry, site=clinic_admin)
class FeeScheduleAdmin(ServiceSavingAdmin):
    list_display = ("code", "modifier", "description", "amount", "is_active")
    search_fields = ("code", "description")
    fields = ("code", "modifier", "description", "amount")

    def save_through_service(self, request, obj, form, change) -> None:
        entry = fee_schedule_set(actor=membership_of(request), **form.cleaned_data)
        obj.pk = entry.pk


@admin.register(ProviderBilling, site=clinic_admin)
class ProviderBillingAdmin(ServiceSavingAdmin):
    list_display = ("provider", "npi", "last_name", "first_name")
    fields = ("provider", "npi", "last_name", "first_name", "taxonomy_code")

    def save_through_service(self, request, obj, form, change) -> None:
        identity = provider_billing_set(
            actor=membership_of(request), **form.cleaned_data
        )
        obj.pk = identity.pk


@admin.register(Claim, site=clinic_admin)
class ClaimAdmin(ClinicModelAdmin):
    """Read-only: claims move through their lifecycle services and the billing pages."""

    list_display = (
        "id",
        "patient",
        "payer",
        "date_of_service",
        "status",
        "total_charge",
    )
    list_filter = ("status", "payer")
    list_select_related = ("patient", "payer")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
