"""Model instances from the columns of hand-written SQL, as the ORM builds them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model


class RowLoader:
    """Builds `model` instances from rows holding `fields`' columns in that order,
    through each field's database converters (JSON, time zones), as
    `Model.from_db` gets them from a queryset.

    Made once per SQL text and kept with it: the field names and converters are
    worked out on first use, not per row (hashing a tuple of fields costs a
    Python call per field).
    """

    def __init__(self, model: type[Model], fields: Sequence[Field]) -> None:
        self.model = model
        self.fields = tuple(fields)
        self.attnames = [f.attname for f in self.fields]
        self._converters: list[tuple[int, Field, list]] | None = None

    def __len__(self) -> int:
        return len(self.fields)

    def __call__(self, values: Sequence[Any]) -> Model:
        connection = connections[DEFAULT_DB_ALIAS]
        converters = self._converters
        if converters is None:
            converters = self._converters = [
                (i, f, funcs)
                for i, f in enumerate(self.fields)
                if (funcs := f.get_db_converters(connection))
            ]
        if converters:
            values = list(values)
            for i, field, funcs in converters:
                for func in funcs:
                    values[i] = func(values[i], field, connection)
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, values)
