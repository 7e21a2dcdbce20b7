"""Pagination without COUNT(*): pages that only know whether another follows."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator

# Forms refuse page numbers past this (400); the paginator never queries past it,
# so a tampered number can never reach PostgreSQL as an out-of-range OFFSET.
MAX_PAGE_NUMBER = 100_000


class LookaheadPage(Page):
    """A page that knows whether another follows without knowing how many there are."""

    def __init__(
        self, object_list: list, number: int, paginator: Paginator, has_next: bool
    ) -> None:
        super().__init__(object_list, number, paginator)
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def has_other_pages(self) -> bool:
        return self._has_next or self.number > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def start_index(self) -> int:
        return (
            (self.number - 1) * self.paginator.per_page + 1 if self.object_list else 0
        )

    def end_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)


class LookaheadPaginator(Paginator):
    """Django's Paginator, minus the COUNT(*): it reads one row past the page instead.

    Live search renders a page per keystroke; a trigram search counted over the
    whole table each time would cost more than the page itself.
    """

    def validate_number(self, number: Any) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError, OverflowError):
            return 1
        return min(max(number, 1), MAX_PAGE_NUMBER)

    def page(self, number: Any) -> LookaheadPage:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        return LookaheadPage(
            rows[: self.per_page], number, self, len(rows) > self.per_page
        )
