"""Schedule JSON of the partner API: parsing and shaping only.

The booking rules (working hours, the slot grid, conflicts, transitions) live
in clinic.services.scheduling and come back through the API's exception
handler: a rule as field errors (400), a conflict or an illegal move as 409.

Visit times (`start`, `end`, `old_start`) are written with the clinic's UTC
offset, so a partner reads the wall-clock time the patient sees; record
timestamps (`created_at`, `at`...) are UTC with `Z`, as in the patients API.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rest_framework import serializers

from clinic.api.fields import AwareDateTimeField, IdRelatedField, SupportedDateField
from clinic.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Location,
    Patient,
    Provider,
    Room,
)
from clinic.selectors.availability import Slot

MAX_SLOT_RANGE_DAYS = 31


def _timestamp(value: datetime | None) -> str | None:
    """ISO 8601 the way DRF writes it: UTC as `Z`."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _local(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 with the clinic's offset, e.g. 2025-03-04T09:00:00-05:00."""
    return value.astimezone(tz).isoformat() if value is not None else None


def event_to_dict(event: AppointmentEvent, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "old_start": _local(event.old_start, tz),
        "old_provider": event.old_provider_id,
        "by": event.by_id,
        "at": _timestamp(event.at),
        "note": event.note,
    }


def appointment_to_dict(
    appointment: Appointment,
    tz: ZoneInfo,
    history: list[AppointmentEvent] | None = None,
) -> dict[str, Any]:
    """The API's JSON of an appointment; related objects appear as ids (no queries)."""
    data = {
        "id": appointment.pk,
        "patient": appointment.patient_id,
        "provider": appointment.provider_id,
        "appointment_type": appointment.appointment_type_id,
        "location": appointment.location_id,
        "room": appointment.room_id,
        "start": _local(appointment.start, tz),
        "end": _local(appointment.end, tz),
        "status": appointment.status,
        "source": appointment.source,
        "reason": appointment.reason,
        "notes": appointment.notes,
        "is_overbooked": appointment.is_overbooked,
        "overbook_reason": appointment.overbook_reason,
        "cancel_reason": appointment.cancel_reason,
        "cancelled_at": _timestamp(appointment.cancelled_at),
        "created_at": _timestamp(appointment.created_at),
        "updated_at": _timestamp(appointment.updated_at),
    }
    if history is not None:
        data["history"] = [event_to_dict(e, tz) for e in history]
    return data


# The columns behind appointment_row_to_dict, for `QuerySet.values(*...)`.
APPOINTMENT_ROW_COLUMNS = (
    "id",
    "patient_id",
    "provider_id",
    "appointment_type_id",
    "location_id",
    "room_id",
    "start",
    "end",
    "status",
    "source",
    "reason",
    "notes",
    "is_overbooked",
    "overbook_reason",
    "cancel_reason",
    "cancelled_at",
    "created_at",
    "updated_at",
)


def appointment_row_to_dict(row: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """appointment_to_dict's JSON from a `values(*APPOINTMENT_ROW_COLUMNS)` row.

    Lists read rows, not model instances: building 50 instances costs more
    than the query that fetched them.
    """
    return {
        "id": row["id"],
        "patient": row["patient_id"],
        "provider": row["provider_id"],
        "appointment_type": row["appointment_type_id"],
        "location": row["location_id"],
        "room": row["room_id"],
        "start": _local(row["start"], tz),
        "end": _local(row["end"], tz),
        "status": row["status"],
        "source": row["source"],
        "reason": row["reason"],
        "notes": row["notes"],
        "is_overbooked": row["is_overbooked"],
        "overbook_reason": row["overbook_reason"],
        "cancel_reason": row["cancel_reason"],
        "cancelled_at": _timestamp(row["cancelled_at"]),
        "created_at": _timestamp(row["created_at"]),
        "updated_at": _timestamp(row["updated_at"]),
    }


def slot_to_dict(slot: Slot, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "start": _local(slot.start, tz),
        "end": _local(slot.end, tz),
        "provider": slot.provider_id,
        "location": slot.location_id,
    }


# --- Fields ---------------------------------------------------------------------------


# --- Providers and appointment types --------------------------------------------------


class ProviderSerializer(serializers.ModelSerializer):
    """A clinician whose time partners book."""

    appointment_types = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of the appointment types offered."
    )

    class Meta:
        model = Provider
        fields = [
            "id",
            "name",
            "credentials",
            "specialty",
            "colour",
            "is_active",
            "appointment_types",
        ]
        read_only_fields = fields


class AppointmentTypeSerializer(serializers.ModelSerializer):
    """A kind of visit: its length, its start grid and who offers it."""

    providers = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of the providers who offer it."
    )

    class Meta:
        model = AppointmentType
        fields = [
            "id",
            "name",
            "duration_minutes",
            "slot_interval_minutes",
            "buffer_after_minutes",
            "colour",
            "requires_confirmation",
            "is_active",
            "providers",
        ]
        read_only_fields = fields


# --- Slots ----------------------------------------------------------------------------


class SlotQuerySerializer(serializers.Serializer):
    """The query of a slot search: a range of clinic dates and a visit type."""

    start = SupportedDateField(help_text="First clinic date (YYYY-MM-DD).")
    end = SupportedDateField(
        help_text=f"Last clinic date, included; {MAX_SLOT_RANGE_DAYS} days at most.",
    )
    appointment_type = IdRelatedField(
        queryset=AppointmentType.objects.all(),
        error_messages={
            "does_not_exist": "No appointment type with the id {pk_value}."
        },
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start: date = attrs["start"]
        end: date = attrs["end"]
        if end < start:
            raise serializers.ValidationError(
                {"end": ["The end date is before the start date."]}
            )
        if end - start >= timedelta(days=MAX_SLOT_RANGE_DAYS):
            raise serializers.ValidationError(
                {"end": [f"Ask for at most {MAX_SLOT_RANGE_DAYS} days at a time."]}
            )
        return attrs


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="With the clinic's UTC offset.")
    end = serializers.DateTimeField(help_text="With the clinic's UTC offset.")
    provider = serializers.IntegerField()
    location = serializers.IntegerField()


class SlotListSerializer(serializers.Serializer):
    timezone = serializers.CharField(
        help_text="The clinic's timezone, e.g. America/New_York."
    )
    slots = SlotSerializer(many=True)


# --- Appointments ---------------------------------------------------------------------


class AppointmentEventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AppointmentEvent.Kind.choices)
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    old_start = serializers.DateTimeField(
        allow_null=True,
        help_text="The time before a move or cancellation (clinic offset).",
    )
    old_provider = serializers.IntegerField(allow_null=True)
    by = serializers.IntegerField(
        allow_null=True, help_text="The user who made the change."
    )
    at = serializers.DateTimeField()
    note = serializers.CharField()


class AppointmentSerializer(serializers.Serializer):
    """An appointment as partners receive it; `history` only on a single read."""

    id = serializers.IntegerField()
    patient = serializers.IntegerField()
    provider = serializers.IntegerField()
    appointment_type = serializers.IntegerField()
    location = serializers.IntegerField()
    room = serializers.IntegerField(allow_null=True)
    start = serializers.DateTimeField(help_text="With the clinic's UTC offset.")
    end = serializers.DateTimeField(help_text="With the clinic's UTC offset.")
    status = serializers.ChoiceField(choices=Appointment.Status.choices)
    source = serializers.ChoiceField(choices=Appointment.Source.choices)
    reason = serializers.CharField()
    notes = serializers.CharField()
    is_overbooked = serializers.BooleanField()
    overbook_reason = serializers.CharField()
    cancel_reason = serializers.CharField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    # One component for both answers: a second one repeating `status` would make
    # the schema's enum names collide with the patients' `status`.
    history = AppointmentEventSerializer(
        many=True, required=False, help_text="Only when reading one appointment."
    )


class AppointmentBookSerializer(serializers.Serializer):
    """A booking request; the service checks hours, grid, conflicts and overbooking."""

    patient = IdRelatedField(queryset=Patient.objects.all())
    provider = IdRelatedField(queryset=Provider.objects.all())
    appointment_type = IdRelatedField(queryset=AppointmentType.objects.all())
    start = AwareDateTimeField(help_text="ISO 8601 with the UTC offset.")
    location = IdRelatedField(
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
        help_text="Where the provider works at that time when left out.",
    )
    room = IdRelatedField(queryset=Room.objects.all(), required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)
    notes = serializers.CharField(required=False, allow_blank=True)
    overbook = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Book over another visit; only members allowed to overbook, "
        "in a clinic that allows it (403 otherwise).",
    )
    overbook_reason = serializers.ChoiceField(
        choices=Appointment.OverbookReason.choices, required=False, allow_blank=True
    )


class AppointmentCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Required by the clinic.",
    )


class AppointmentRescheduleSerializer(serializers.Serializer):
    start = AwareDateTimeField(help_text="The new time, ISO 8601 with the UTC offset.")
    provider = IdRelatedField(
        queryset=Provider.objects.all(),
        required=False,
        allow_null=True,
        help_text="Another provider; the same one when left out.",
    )


# --- Error answers (documentation only) -----------------------------------------------


class ConflictItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    provider = serializers.IntegerField()
    room = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()


class ConflictErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    conflicts = ConflictItemSerializer(many=True, required=False)
    current_status = serializers.CharField(
        required=False, help_text="On an illegal transition: the appointment's status."
    )
