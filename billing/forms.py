"""Forms of the billing staff pages: parsing only; the services decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from billing.codes import PLACES_OF_SERVICE
from billing.models import Adjustment, Claim, Invoice, Payer, Payment, Policy
from billing.money import MAX_AMOUNT
from clinic.models import Provider
from portal.limits import MAX_ID, validate_supported_date
from portal.pagination import MAX_PAGE_NUMBER

AGE_CHOICES = [
    ("", "Any age"),
    ("0-30", "0-30 days"),
    ("31-60", "31-60 days"),
    ("61-90", "61-90 days"),
    ("91-120", "91-120 days"),
    ("120+", "Over 120 days"),
]


class ServiceFormMixin:
    """Service errors keyed by field land on the field; the rest above the form."""

    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, exc.messages)


def _date(**kwargs) -> forms.DateField:
    kwargs.setdefault("required", False)
    return forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_supported_date],
        **kwargs,
    )


def _money(**kwargs) -> forms.DecimalField:
    kwargs.setdefault("max_digits", 12)
    kwargs.setdefault("decimal_places", 2)
    return forms.DecimalField(max_value=MAX_AMOUNT, **kwargs)


class WorkListForm(forms.Form):
    status = forms.MultipleChoiceField(
        choices=Claim.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    payer = forms.ModelChoiceField(
        queryset=Payer.objects.order_by("name"), required=False, empty_label="Any payer"
    )
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.order_by("name"),
        required=False,
        empty_label="Any provider",
    )
    service_from = _date(label="Service from")
    service_to = _date(label="Service to")
    age = forms.ChoiceField(choices=AGE_CHOICES, required=False)
    page = forms.IntegerField(min_value=1, max_value=MAX_PAGE_NUMBER, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The options as one plain query each (a model choice field reads them
        # through a server-side cursor: three round trips per list).
        for name, label in (("payer", "Any payer"), ("provider", "Any provider")):
            field = self.fields[name]
            field.choices = [
                ("", label),
                *((row.pk, str(row)) for row in field.queryset),
            ]


class BulkForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("mark_ready", "Mark ready"), ("export", "Export 837P")]
    )
    claims = forms.TypedMultipleChoiceField(
        coerce=int,
        choices=[],
        required=True,
        error_messages={"required": "Tick some claims."},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        raw = self.data.getlist("claims") if hasattr(self.data, "getlist") else []
        self.fields["claims"].choices = [
            (v, v) for v in raw if v.isascii() and v.isdigit() and 1 <= int(v) <= MAX_ID
        ]


class NoteForm(ServiceFormMixin, forms.Form):
    note = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    payer_claim_number = forms.CharField(
        max_length=50, required=False, label="Payer's claim number"
    )


class CodingForm(ServiceFormMixin, forms.Form):
    """Up to twelve diagnoses and fifty lines, as rows of plain inputs."""

    place_of_service = forms.ChoiceField(choices=sorted(PLACES_OF_SERVICE.items()))
    self_pay = forms.BooleanField(required=False, label="Self-pay (no claim)")


class PaymentForm(ServiceFormMixin, forms.Form):
    amount = _money(min_value=Decimal("0.01"))
    method = forms.ChoiceField(choices=Payment.Method.choices)
    received_on = _date(label="Received on")
    reference = forms.CharField(max_length=100, required=False)
    invoice = forms.ModelChoiceField(
        queryset=Invoice.objects.none(),
        required=False,
        empty_label="Oldest open invoices first",
    )
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, patient=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if patient is not None:
            self.fields["invoice"].queryset = Invoice.objects.filter(
                patient=patient, status=Invoice.Status.OPEN
            ).order_by("issued_on")


class RefundForm(ServiceFormMixin, forms.Form):
    payment = forms.ModelChoiceField(queryset=Payment.objects.none())
    amount = _money(min_value=Decimal("0.01"))
    method = forms.ChoiceField(choices=Payment.Method.choices)
    reason = forms.CharField(max_length=300)

    def __init__(self, *args, patient=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if patient is not None:
            self.fields["payment"].queryset = Payment.objects.filter(patient=patient)


class AdjustmentForm(ServiceFormMixin, forms.Form):
    amount = _money(help_text="Positive takes money off the balance; negative adds.")
    reason = forms.ChoiceField(choices=Adjustment.Reason.choices)
    note = forms.CharField(max_length=300, required=False)


class InvoiceForm(ServiceFormMixin, forms.Form):
    kind = forms.ChoiceField(choices=Invoice.Kind.choices)
    amount = _money(min_value=Decimal("0.01"))
    description = forms.CharField(max_length=200, required=False)
    due_on = _date(label="Due on")


class PolicyForm(ServiceFormMixin, forms.Form):
    payer = forms.ModelChoiceField(
        queryset=Payer.objects.filter(is_active=True).order_by("name")
    )
    member_id = forms.CharField(max_length=80)
    group_number = forms.CharField(max_length=50, required=False)
    priority = forms.ChoiceField(choices=Policy.Priority.choices)
    relationship = forms.ChoiceField(choices=Policy.Relationship.choices)
    subscriber_first_name = forms.CharField(max_length=35, required=False)
    subscriber_last_name = forms.CharField(max_length=60, required=False)
    subscriber_date_of_birth = _date(label="Subscriber's date of birth")
    subscriber_sex = forms.ChoiceField(
        choices=[("", "—"), *Policy.Sex.choices], required=False
    )
    effective_from = _date(required=True)
    effective_to = _date()


class MatchForm(ServiceFormMixin, forms.Form):
    claim = forms.CharField(max_length=20, help_text="The claim's number (C123) or id.")
    note = forms.CharField(max_length=300, required=False)

    def clean_claim(self) -> int:
        value = self.cleaned_data["claim"].strip().upper().removeprefix("C")
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID):
            raise ValidationError("Give a claim number like C123.")
        return int(value)


class DismissForm(ServiceFormMixin, forms.Form):
    note = forms.CharField(max_length=300)


class UploadForm(ServiceFormMixin, forms.Form):
    file = forms.FileField(label="835 file")
