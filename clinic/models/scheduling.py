"""The schedule: providers, where and when they work, appointments, the waitlist.

Times of day (availability, exceptions) are wall-clock times in the clinic's
timezone; appointment instants are aware datetimes stored in UTC.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    ArrayField,
    DateTimeRangeField,
    RangeOperators,
)
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour like #1f6feb.")


class TsTzRange(Func):
    """tstzrange(start, end, '[)') for the exclusion constraints."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Location(models.Model):
    """A site of the clinic where providers see patients."""

    name = models.CharField(max_length=120, unique=True)
    address = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    """An exam or treatment room at a location; one appointment at a time."""

    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="rooms"
    )
    name = models.CharField(max_length=60)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "name"],
                name="%(app_label)s_%(class)s_unique_name",
                violation_error_message="This location already has a room of that name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location} · {self.name}"


class Provider(models.Model):
    """A clinician whose time patients book."""

    name = models.CharField(max_length=120)
    credentials = models.CharField(
        max_length=60, blank=True, help_text="e.g. MD, DDS, NP"
    )
    specialty = models.CharField(max_length=120, blank=True)
    colour = models.CharField(max_length=7, default="#4f46e5", validators=[hex_colour])
    # No database constraint: memberships live in the public schema, and
    # deleting one (or a whole clinic) must not reach into clinic schemas.
    membership = models.ForeignKey(
        "portal.Membership",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="The clinician's sign-in, when the provider uses the portal.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


class AppointmentType(models.Model):
    """A kind of visit: how long it takes, what follows it, who offers it."""

    name = models.CharField(max_length=120, unique=True)
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    slot_interval_minutes = models.PositiveSmallIntegerField(
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
        help_text="Visits start on this grid (minutes past midnight, clinic time).",
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(120)]
    )
    colour = models.CharField(max_length=7, default="#0ea5e9", validators=[hex_colour])
    providers = models.ManyToManyField(
        Provider, related_name="appointment_types", blank=True
    )
    requires_confirmation = models.BooleanField(
        default=False, help_text="Patients must confirm these visits."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5),
                name="%(app_label)s_%(class)s_min_duration",
                violation_error_message="A visit lasts at least 5 minutes.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AvailabilityBlock(models.Model):
    """A provider's recurring weekly hours at one location (clinic wall-clock time)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="blocks"
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="blocks"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")),
                name="%(app_label)s_%(class)s_ordered",
                violation_error_message="The hours must end after they start.",
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6),
                name="%(app_label)s_%(class)s_weekday",
                violation_error_message="Weekdays are Monday to Sunday.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["provider", "weekday"], name="clinic_block_provider_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class AvailabilityException(models.Model):
    """A one-off change to a provider's hours on a date: time off or extra hours."""

    class Kind(models.TextChoices):
        TIME_OFF = "time_off", "Time off"
        EXTRA_HOURS = "extra_hours", "Extra hours"

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="exceptions"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    date = models.DateField()
    start_time = models.TimeField(
        null=True, blank=True, help_text="Empty: the whole day."
    )
    end_time = models.TimeField(null=True, blank=True)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(start_time__isnull=True) & Q(end_time__isnull=True))
                | Q(end_time__gt=F("start_time")),
                name="%(app_label)s_%(class)s_ordered",
                violation_error_message="The time off or extra hours must end after they start.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="extra_hours")
                | (Q(start_time__isnull=False) & Q(location__isnull=False)),
                name="%(app_label)s_%(class)s_extra_has_hours",
                violation_error_message="Extra hours need a start, an end and a location.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["provider", "date"], name="clinic_exception_provider_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.provider} {self.date}"


class Holiday(models.Model):
    """A date the whole clinic is closed."""

    date = models.DateField(unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.name} ({self.date})"


ACTIVE_STATUSES = ("scheduled", "confirmed", "checked_in", "completed")


class Appointment(models.Model):
    """A patient's visit with a provider at a time."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    class Source(models.TextChoices):
        STAFF = "staff", "Staff"
        PARTNER_API = "partner_api", "Partner API"
        REMINDER_REPLY = "reminder_reply", "Reminder reply"

    class OverbookReason(models.TextChoices):
        URGENT = "urgent", "Urgent clinical need"
        PATIENT_REQUEST = "patient_request", "Patient cannot come another time"
        PROVIDER_REQUEST = "provider_request", "Provider asked to fit in"
        EXPECTED_NO_SHOW = "expected_no_show", "Planned overbooking for no-shows"

    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, related_name="appointments"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="appointments"
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="appointments"
    )
    room = models.ForeignKey(
        Room,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    # end + the type's buffer: the provider is busy until then.
    busy_until = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.SCHEDULED
    )
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.STAFF
    )
    reason = models.CharField(
        max_length=300, blank=True, help_text="Why the patient comes."
    )
    notes = models.TextField(blank=True)
    is_overbooked = models.BooleanField(default=False)
    overbook_reason = models.CharField(
        max_length=20, choices=OverbookReason.choices, blank=True
    )
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Users live in the public schema and are deactivated, never deleted: no
    # database constraint reaches out of the clinic's schema (README, Citus).
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")) & Q(busy_until__gte=F("end")),
                name="%(app_label)s_%(class)s_ordered_times",
                violation_error_message="A visit must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(is_overbooked=False) | ~Q(overbook_reason=""),
                name="%(app_label)s_%(class)s_overbook_has_reason",
                violation_error_message="Choose why this visit is overbooked.",
            ),
            # The rule that matters most: a provider is never booked twice at once,
            # whatever races the application has. Overbookings are deliberate.
            ExclusionConstraint(
                name="%(app_label)s_%(class)s_no_provider_overlap",
                violation_error_message=(
                    "This time conflicts with another appointment of the same provider."
                ),
                expressions=[
                    ("provider", RangeOperators.EQUAL),
                    (TsTzRange("start", "busy_until"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=ACTIVE_STATUSES, is_overbooked=False),
            ),
            ExclusionConstraint(
                name="%(app_label)s_%(class)s_no_room_overlap",
                violation_error_message=(
                    "This time conflicts with another appointment of the same room."
                ),
                expressions=[
                    ("room", RangeOperators.EQUAL),
                    (TsTzRange("start", "end"), RangeOperators.OVERLAPS),
                ],
                condition=Q(
                    status__in=ACTIVE_STATUSES, is_overbooked=False, room__isnull=False
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["start"], name="clinic_appt_start"),
            models.Index(
                fields=["provider", "start"], name="clinic_appt_provider_start"
            ),
            models.Index(fields=["patient", "start"], name="clinic_appt_patient_start"),
            models.Index(fields=["status", "start"], name="clinic_appt_status_start"),
        ]

    def __str__(self) -> str:
        return f"{self.patient} with {self.provider} at {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class AppointmentEvent(models.Model):
    """One step in an appointment's history: booked, confirmed, moved, cancelled..."""

    class Kind(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"
        RESCHEDULED = "rescheduled", "Rescheduled"

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    old_start = models.DateTimeField(null=True, blank=True)
    old_end = models.DateTimeField(null=True, blank=True)
    old_provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # When it happened: now for a live step, earlier for a history played back.
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["kind", "old_start"], name="clinic_apptevent_freed"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class WaitlistEntry(models.Model):
    """A patient who wants an earlier or a specific slot, with their preferences."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        BOOKED = "booked", "Booked"
        REMOVED = "removed", "Removed"

    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    provider = models.ForeignKey(
        Provider,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="waitlist_entries",
        help_text="Empty: any provider.",
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(),
        default=list,
        blank=True,
        help_text="Empty: any day.",
    )
    earliest_time = models.TimeField(null=True, blank=True)
    latest_time = models.TimeField(null=True, blank=True)
    earliest_date = models.DateField(null=True, blank=True)
    latest_date = models.DateField(null=True, blank=True)
    notes = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.WAITING
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["status", "appointment_type"], name="clinic_waitlist_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.patient} waiting for {self.appointment_type}"
