"""Writes of the clinic's set-up: places, providers, visit types, hours, holidays,
and the clinic's own settings.

Only admins set a clinic up (clinic.permissions). The clinic admin's save and
delete call these, so its pages and any other caller obey the same rules:
the role, the model's validation, and the database's PROTECT on rows in use.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Model

from clinic.actors import Actor
from clinic.models import (
    AppointmentType,
    AvailabilityBlock,
    AvailabilityException,
    Holiday,
    Location,
    Provider,
    Room,
)
from clinic.permissions import Perm, require
from portal.models import Clinic

SET_UP_MODELS: tuple[type[Model], ...] = (
    Location,
    Room,
    Provider,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityException,
    Holiday,
)
# The clinic's own settings that its admins change (the rest is the platform's).
CLINIC_SETTINGS = (
    "allow_overbooking",
    "booking_min_notice_minutes",
    "password_expiry_days",
)


def _check_kind(instance: Model) -> None:
    if not isinstance(instance, SET_UP_MODELS):
        raise TypeError(f"{type(instance).__name__} is not part of the set-up.")


@transaction.atomic
def setup_save(*, instance: Model, actor: Actor) -> Model:
    """Save one row of the set-up (new or changed) after its model's rules."""
    require(actor, Perm.SET_UP_SCHEDULE)
    _check_kind(instance)
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def setup_delete(*, instance: Model, actor: Actor) -> None:
    """Delete one row of the set-up; rows in use are protected by the database."""
    require(actor, Perm.SET_UP_SCHEDULE)
    _check_kind(instance)
    instance.delete()


def location_save(*, location: Location, actor: Actor) -> Location:
    return setup_save(instance=location, actor=actor)


def room_save(*, room: Room, actor: Actor) -> Room:
    return setup_save(instance=room, actor=actor)


def provider_save(*, provider: Provider, actor: Actor) -> Provider:
    return setup_save(instance=provider, actor=actor)


@transaction.atomic
def appointment_type_save(
    *,
    appointment_type: AppointmentType,
    actor: Actor,
    providers: Iterable[Provider] | None = None,
) -> AppointmentType:
    """Save a visit type and (if given) the providers who offer it."""
    setup_save(instance=appointment_type, actor=actor)
    if providers is not None:
        appointment_type.providers.set(providers)
    return appointment_type


def availability_block_save(
    *, block: AvailabilityBlock, actor: Actor
) -> AvailabilityBlock:
    return setup_save(instance=block, actor=actor)


def availability_exception_save(
    *, exception: AvailabilityException, actor: Actor
) -> AvailabilityException:
    return setup_save(instance=exception, actor=actor)


def holiday_save(*, holiday: Holiday, actor: Actor) -> Holiday:
    return setup_save(instance=holiday, actor=actor)


@transaction.atomic
def clinic_settings_update(*, actor: Actor, **changes: object) -> Clinic:
    """Change the active clinic's own settings (CLINIC_SETTINGS)."""
    require(actor, Perm.EDIT_SETTINGS)
    unknown = set(changes) - set(CLINIC_SETTINGS)
    if unknown:
        raise TypeError(f"Not a clinic setting: {', '.join(sorted(unknown))}.")
    clinic = Clinic.objects.select_for_update().get(pk=connection.tenant.pk)
    changed = [
        name for name, value in changes.items() if getattr(clinic, name) != value
    ]
    for name in changed:
        setattr(clinic, name, changes[name])
    if changed:
        clinic.full_clean(validate_unique=False, validate_constraints=False)
        clinic.save(update_fields=changed)
        # The request's own copy of the clinic sees its new settings at once.
        for name in changed:
            setattr(connection.tenant, name, changes[name])
    return clinic
