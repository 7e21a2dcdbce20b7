"""Input fields the partner API shares: ids, supported dates, instants with an offset.

Each refuses what the database or Python's date arithmetic cannot take (see
portal.limits) as a field error, before any query runs.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.limits import MAX_ID, date_problem, validate_supported_date


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A row by its id: a whole number from 1 to bigint, as JSON or as digits.

    DRF's own field hands any value to the query: `1e400` (infinity) raises
    OverflowError, `1.5` and `true` quietly mean row 1.
    """

    def to_internal_value(self, data: object) -> object:
        if isinstance(data, str) and data.isascii() and data.isdigit():
            data = int(data)
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class SupportedDateField(serializers.DateField):
    """A YYYY-MM-DD date within the supported range (portal.limits)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("input_formats", ["iso-8601"])
        kwargs["validators"] = [*kwargs.get("validators", []), validate_supported_date]
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """An ISO 8601 instant that must carry its UTC offset (or `Z`).

    DRF's DateTimeField would read a bare `2025-03-04T09:00` in the server's
    timezone (UTC), five hours away from what the partner meant in New York.
    """

    default_error_messages = {
        "invalid": "Expected an ISO 8601 time, e.g. 2025-03-04T09:00:00-05:00.",
        "naive": "Give the time with its UTC offset, e.g. 2025-03-04T09:00:00-05:00.",
    }

    def to_internal_value(self, data: object) -> datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            value = parse_datetime(data.strip())
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail("naive")
        problem = date_problem(value)
        if problem is not None:
            raise serializers.ValidationError(problem)
        return value

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()
