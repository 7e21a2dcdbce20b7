"""factory_boy factories for the clinic schema (use them inside a clinic's schema)."""

from __future__ import annotations

from datetime import date, time

import factory
from django.db import connection

from clinic.actors import SYSTEM, SystemActor
from clinic.models import (
    AppointmentType,
    AvailabilityBlock,
    Location,
    Patient,
    Provider,
    Room,
)
from portal.models import Membership, User


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = date(1980, 1, 1)
    phone = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("name",)

    name = "Main office"


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Exam {n}")


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    name = factory.Sequence(lambda n: f"Dr. Provider {n}")
    credentials = "MD"
    specialty = "Family medicine"


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentType

    name = factory.Sequence(lambda n: f"Visit type {n}")
    duration_minutes = 30
    slot_interval_minutes = 15
    buffer_after_minutes = 0

    @factory.post_generation
    def offered_by(self, create, providers, **kwargs):
        if create and providers:
            self.providers.add(*providers)


class AvailabilityBlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AvailabilityBlock

    provider = factory.SubFactory(ProviderFactory)
    location = factory.SubFactory(LocationFactory)
    weekday = 0
    start_time = time(9, 0)
    end_time = time(17, 0)


def weekday_hours(
    provider: Provider, location: Location, start=time(9), end=time(17), days=range(7)
):
    """The provider works these hours every listed weekday (all week by default)."""
    return [
        AvailabilityBlockFactory(
            provider=provider,
            location=location,
            weekday=d,
            start_time=start,
            end_time=end,
        )
        for d in days
    ]


def member(user: User | Membership | SystemActor | None) -> Membership | SystemActor:
    """The acting membership of `user` in the active clinic (services take actors).

    None is the system, as it was for the services' old `by=None`.
    """
    if user is None:
        return SYSTEM
    if isinstance(user, Membership | SystemActor):
        return user
    return Membership.objects.select_related("user").get(
        user=user, clinic__schema_name=connection.schema_name, is_active=True
    )
