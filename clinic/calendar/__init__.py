"""The staff calendars' grids, laid out in Python from one query (see layout.py).

The views (clinic.views.schedule) render what these return; the cells and
columns come back as ready HTML because a template loop over thousands of
visits would not fit the time budget.
"""

from __future__ import annotations

from clinic.calendar.day import day_grid
from clinic.calendar.week import week_grid

__all__ = ["day_grid", "week_grid"]
