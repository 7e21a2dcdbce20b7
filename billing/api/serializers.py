"""JSON of the billing API: parsing and shaping only; the rules live in the services.

Money is a string with two decimals ("155.50") both ways; a JSON number is
accepted on input when it has at most two decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from billing.codes import display_icd10
from billing.models import (
    Claim,
    ClaimEvent,
    ClaimLine,
    Diagnosis,
    Encounter,
    Invoice,
    Payer,
    Payment,
    PaymentAllocation,
    Policy,
    Remittance,
    RemittanceClaim,
    ServiceLine,
)
from billing.money import MAX_AMOUNT
from billing.services import allowed_moves
from clinic.api.fields import IdRelatedField, SupportedDateField
from clinic.models import Appointment, Patient
from portal.limits import MAX_ID


class MoneyField(serializers.DecimalField):
    """An amount in cents, read from a string ("12.50") or a whole number, never a float.

    JSON parses 12.5 as a binary float; money does not pass through one.
    """

    default_error_messages = {
        "float": 'Send the amount as a string like "12.50", not as a JSON decimal number.',
    }

    def to_internal_value(self, data: object) -> Decimal:
        if isinstance(data, float):
            self.fail("float")
        return super().to_internal_value(data)


def Money(**kwargs: Any) -> MoneyField:  # noqa: N802
    kwargs.setdefault("max_digits", 12)
    kwargs.setdefault("decimal_places", 2)
    kwargs.setdefault("max_value", MAX_AMOUNT)
    kwargs.setdefault("min_value", -MAX_AMOUNT)
    return MoneyField(**kwargs)


class NoNulCharField(serializers.CharField):
    """Text without NUL characters (PostgreSQL cannot store them)."""

    def to_internal_value(self, data: object) -> str:
        value = super().to_internal_value(data)
        if "\x00" in value:
            raise serializers.ValidationError("Null characters are not allowed.")
        return value


# --- Payers and policies -----------------------------------------------------------------


class PayerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payer
        fields = [
            "id",
            "name",
            "payer_id",
            "address_line",
            "city",
            "state",
            "postal_code",
            "phone",
            "filing_indicator",
            "timely_filing_days",
            "accepts_secondary",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "payer_id": {"validators": []}
        }  # the service answers duplicates

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_class is serializers.CharField:
            field_class = NoNulCharField
        return field_class, kwargs


class PolicySerializer(serializers.ModelSerializer):
    """A policy as lists show it: the member id masked."""

    patient = IdRelatedField(queryset=Patient.objects.all())
    payer = IdRelatedField(queryset=Payer.objects.all())
    member_id_masked = serializers.CharField(read_only=True)
    member_id = NoNulCharField(write_only=True, max_length=80)
    subscriber_date_of_birth = SupportedDateField(required=False, allow_null=True)
    effective_from = SupportedDateField()
    effective_to = SupportedDateField(required=False, allow_null=True)
    eligibility_verified_on = serializers.DateField(read_only=True)
    eligibility_verified_by = serializers.SerializerMethodField()

    class Meta:
        model = Policy
        fields = [
            "id",
            "patient",
            "payer",
            "member_id",
            "member_id_masked",
            "group_number",
            "priority",
            "relationship",
            "subscriber_first_name",
            "subscriber_last_name",
            "subscriber_date_of_birth",
            "subscriber_sex",
            "effective_from",
            "effective_to",
            "eligibility_verified_on",
            "eligibility_verified_by",
            "eligibility_note",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "eligibility_note", "created_at", "updated_at"]

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_class is serializers.CharField:
            field_class = NoNulCharField
        return field_class, kwargs

    def get_eligibility_verified_by(self, policy: Policy) -> str | None:
        user = policy.eligibility_verified_by
        return (user.full_name or user.email) if user else None


class PolicyUpdateSerializer(PolicySerializer):
    patient = serializers.IntegerField(read_only=True, source="patient_id")

    class Meta(PolicySerializer.Meta):
        read_only_fields = [*PolicySerializer.Meta.read_only_fields, "patient"]


class PolicyDetailSerializer(PolicySerializer):
    """One policy, read on its own: the member id in full (an access entry is written)."""

    member_id = serializers.CharField(read_only=True)


class EligibilitySerializer(serializers.Serializer):
    verified_on = SupportedDateField(required=False)
    note = NoNulCharField(required=False, allow_blank=True, max_length=300)


# --- Encounters ----------------------------------------------------------------------------


class DiagnosisSerializer(serializers.ModelSerializer):
    code = serializers.SerializerMethodField()

    class Meta:
        model = Diagnosis
        fields = ["position", "code", "description"]

    def get_code(self, diagnosis: Diagnosis) -> str:
        return display_icd10(diagnosis.code)


class ServiceLineSerializer(serializers.ModelSerializer):
    charge = Money()
    modifiers = serializers.ListField(
        child=serializers.CharField(max_length=2), max_length=4
    )
    diagnosis_pointers = serializers.ListField(
        child=serializers.IntegerField(), max_length=4
    )

    class Meta:
        model = ServiceLine
        fields = [
            "line_number",
            "code",
            "modifiers",
            "description",
            "units",
            "charge",
            "place_of_service",
            "diagnosis_pointers",
        ]


class EncounterSerializer(serializers.ModelSerializer):
    diagnoses = DiagnosisSerializer(many=True, read_only=True)
    lines = ServiceLineSerializer(many=True, read_only=True)

    class Meta:
        model = Encounter
        fields = [
            "id",
            "appointment",
            "patient",
            "provider",
            "date_of_service",
            "place_of_service",
            "status",
            "self_pay",
            "coded_at",
            "diagnoses",
            "lines",
            "created_at",
        ]
        read_only_fields = fields


class EncounterOpenSerializer(serializers.Serializer):
    appointment = IdRelatedField(queryset=Appointment.objects.all())


class DiagnosisInputSerializer(serializers.Serializer):
    code = NoNulCharField(max_length=8)
    description = NoNulCharField(
        required=False, allow_blank=True, max_length=200, default=""
    )


class LineInputSerializer(serializers.Serializer):
    code = NoNulCharField(max_length=5)
    modifiers = serializers.ListField(
        child=NoNulCharField(max_length=2), required=False, default=list, max_length=4
    )
    units = serializers.IntegerField(min_value=1, max_value=999, default=1)
    charge = Money(
        required=False,
        allow_null=True,
        min_value=0,
        default=None,
        help_text="Empty: the fee schedule's amount times the units.",
    )
    diagnosis_pointers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=12),
        min_length=1,
        max_length=4,
    )
    place_of_service = NoNulCharField(
        required=False, allow_blank=True, max_length=2, default=""
    )
    description = NoNulCharField(
        required=False, allow_blank=True, max_length=200, default=""
    )


class CodingSerializer(serializers.Serializer):
    diagnoses = DiagnosisInputSerializer(many=True, max_length=12)
    lines = LineInputSerializer(many=True, max_length=50)
    place_of_service = NoNulCharField(required=False, max_length=2)
    self_pay = serializers.BooleanField(required=False)


# --- Claims ---------------------------------------------------------------------------------


class ClaimLineSerializer(serializers.ModelSerializer):
    charge = Money()
    modifiers = serializers.ListField(child=serializers.CharField())
    diagnosis_pointers = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        model = ClaimLine
        fields = [
            "line_number",
            "code",
            "modifiers",
            "units",
            "charge",
            "place_of_service",
            "diagnosis_pointers",
            "date_of_service",
        ]


class ClaimSerializer(serializers.ModelSerializer):
    control_number = serializers.CharField(read_only=True)
    total_charge = Money(read_only=True)
    prior_payer_paid = Money(read_only=True)
    diagnosis_codes = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    lines = ClaimLineSerializer(many=True, read_only=True)

    class Meta:
        model = Claim
        fields = [
            "id",
            "control_number",
            "encounter",
            "patient",
            "provider",
            "policy",
            "payer",
            "payer_order",
            "date_of_service",
            "place_of_service",
            "diagnosis_codes",
            "status",
            "frequency_code",
            "original_claim",
            "primary_claim",
            "payer_claim_number",
            "total_charge",
            "prior_payer_paid",
            "batch",
            "submitted_at",
            "adjudicated_at",
            "created_at",
            "updated_at",
            "allowed_actions",
            "lines",
        ]
        read_only_fields = fields

    def get_diagnosis_codes(self, claim: Claim) -> list[str]:
        return [display_icd10(code) for code in claim.diagnosis_codes]

    def get_allowed_actions(self, claim: Claim) -> list[str]:
        return [move.replace("_", "-") for move in allowed_moves(claim.status)]


class ClaimCreateSerializer(serializers.Serializer):
    encounter = IdRelatedField(queryset=Encounter.objects.all())
    policy = IdRelatedField(
        queryset=Policy.objects.all(),
        required=False,
        allow_null=True,
        help_text="Empty: the patient's active primary policy.",
    )


class ClaimEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name")

    class Meta:
        model = ClaimEvent
        fields = ["id", "action", "from_status", "to_status", "actor", "note", "at"]


class ClaimActionSerializer(serializers.Serializer):
    note = NoNulCharField(required=False, allow_blank=True, max_length=500, default="")
    payer_claim_number = NoNulCharField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text="The payer's number (accept, pay, deny).",
    )


class ExportSerializer(serializers.Serializer):
    claims = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=10_000,
        help_text="Ids of ready claims.",
    )


class ExportResultSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    control_number = serializers.IntegerField()
    claim_count = serializers.IntegerField()
    total_charge = Money()
    validation = serializers.CharField()
    filename = serializers.CharField()
    content = serializers.CharField(help_text="The 837P interchange (X12 text).")


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current_status = serializers.CharField(required=False)
    allowed_actions = serializers.ListField(
        child=serializers.CharField(), required=False
    )


# --- Money in: payments, balances, remittances ----------------------------------------------


class AllocationSerializer(serializers.ModelSerializer):
    amount = Money()

    class Meta:
        model = PaymentAllocation
        fields = ["invoice", "amount"]


class PaymentSerializer(serializers.ModelSerializer):
    patient = IdRelatedField(queryset=Patient.objects.all())
    invoice = IdRelatedField(
        queryset=Invoice.objects.all(),
        write_only=True,
        required=False,
        allow_null=True,
        help_text="Settle this invoice; empty: the oldest open invoices first.",
    )
    amount = Money(min_value=0)
    received_on = SupportedDateField(required=False)
    reference = NoNulCharField(required=False, allow_blank=True, max_length=100)
    note = NoNulCharField(required=False, allow_blank=True, max_length=300)
    allocations = AllocationSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "patient",
            "amount",
            "method",
            "reference",
            "received_on",
            "note",
            "invoice",
            "allocations",
            "created_at",
        ]
        read_only_fields = ["id", "allocations", "created_at"]


class BalanceSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    charges = Money()
    insurance_paid = Money()
    insurance_adjusted = Money()
    patient_paid = Money()
    adjusted = Money()
    refunded = Money()
    balance = Money(
        help_text="charges - insurance paid - insurance adjustments - patient "
        "paid - adjustments + refunds; negative is a credit."
    )
    insurance_pending = Money(help_text="Billed to payers, not yet answered.")
    patient_due = Money(help_text="Still open on the patient's invoices.")


class RemittanceClaimSerializer(serializers.ModelSerializer):
    total_charge = Money()
    paid = Money()
    patient_responsibility = Money()

    class Meta:
        model = RemittanceClaim
        fields = [
            "id",
            "sequence",
            "claim",
            "patient_control_number",
            "status_code",
            "total_charge",
            "paid",
            "patient_responsibility",
            "payer_claim_number",
            "match",
            "unmatched_reason",
        ]


class RemittanceSerializer(serializers.ModelSerializer):
    payment_amount = Money()
    claims = RemittanceClaimSerializer(many=True, read_only=True)

    class Meta:
        model = Remittance
        fields = [
            "id",
            "payer",
            "payer_name",
            "payer_identifier",
            "trace_number",
            "payment_amount",
            "payment_method",
            "payment_date",
            "imported_at",
            "claims",
        ]


class RemittanceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="The 835 file (multipart).")
    content = NoNulCharField(
        required=False,
        trim_whitespace=False,
        help_text="Or the 835 text itself (JSON).",
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("file") and not attrs.get("content"):
            raise serializers.ValidationError(
                {"file": ["Send the 835 as `file` or `content`."]}
            )
        return attrs


class ImportResultSerializer(serializers.Serializer):
    imported = RemittanceSerializer(many=True)
    duplicates = serializers.ListField(
        child=serializers.CharField(),
        help_text="Trace numbers already imported: not posted again.",
    )
    posted = serializers.IntegerField()
    unmatched = serializers.IntegerField()
