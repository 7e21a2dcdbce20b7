"""Log records without patient data (no PHI in logs).

A request that fails is logged by Django with the request attached (its body,
its query string, its cookies) and with the exception, whose message can quote
a row ('Key (phone)=(+1415...) already exists') or a form value. This filter
keeps what an operator needs to find the fault (the path, the status, the
exception's type and where it was raised) and drops the rest, for every
handler, before any of them formats the record.
"""

from __future__ import annotations

import logging
import traceback

WITHHELD = "(details withheld: they may hold patient data)"


class WithoutPHI(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request", None) is not None:
            # Django's handlers read only the path and the status from it.
            record.request = None
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _, tb = record.exc_info
            frames = "".join(traceback.format_tb(tb))
            record.exc_text = (
                f"Traceback (most recent call last):\n{frames}"
                f"{exc_type.__module__}.{exc_type.__qualname__} {WITHHELD}"
            )
            record.exc_info = None
        return True
