"""The demo clinic's schedule, as data: sites, providers and their weekly hours, visit
types, and the clinic's holidays. clinic.demo.schedule turns it into rows.

Everything is fiction: the names are invented, the addresses are real streets
with made-up numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

DAYS = "MTWRFSU"  # weekday letters, Monday first
WEEKS = 3  # booked weeks on each side of today

LOCATIONS = [
    (
        "Washington Heights",
        "1250 St Nicholas Ave\nNew York, NY 10032",
        ["Exam 1", "Exam 2", "Exam 3", "Exam 4", "Procedure room"],
    ),
    (
        "Inwood",
        "515 W 207th St\nNew York, NY 10034",
        ["Exam 1", "Exam 2", "Dental operatory 1", "Dental operatory 2"],
    ),
]

# name: (minutes, grid, buffer after, colour, patients must confirm, reasons)
TYPES = {
    "New patient visit": (
        45,
        15,
        0,
        "#0ea5e9",
        True,
        [
            "Establish care",
            "Transfer of care",
            "New patient: high blood pressure",
            "New patient: diabetes",
            "New patient: knee pain",
        ],
    ),
    "Follow-up visit": (
        20,
        10,
        0,
        "#22c55e",
        False,
        [
            "Blood pressure check",
            "Diabetes follow-up",
            "Medication review",
            "Lab results",
            "Asthma follow-up",
            "Thyroid follow-up",
            "Wound check",
        ],
    ),
    "Annual physical": (
        40,
        20,
        0,
        "#f59e0b",
        False,
        [
            "Annual physical",
            "Medicare annual wellness visit",
            "Pre-employment physical",
        ],
    ),
    "Telehealth check-in": (
        15,
        15,
        0,
        "#8b5cf6",
        False,
        [
            "Medication refill",
            "Lab results review",
            "Cold symptoms",
            "Mental health check-in",
        ],
    ),
    "Dental cleaning": (
        60,
        15,
        15,
        "#14b8a6",
        True,
        [
            "Routine cleaning",
            "6-month recall",
            "Cleaning and X-rays",
            "Periodontal maintenance",
        ],
    ),
    "Well-child visit": (
        30,
        15,
        0,
        "#ec4899",
        False,
        [
            "2-month well visit",
            "12-month well visit",
            "4-year checkup",
            "School physical",
            "Sports physical",
            "Catch-up vaccines",
        ],
    ),
}
NO_ROOM = {"Telehealth check-in"}


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    credentials: str
    specialty: str
    colour: str
    hours: list[
        tuple[str, int, str]
    ]  # (weekday letters, location index, "08:00-12:00 13:00-17:00")
    rooms: dict[int, str]  # location index -> their room there
    types: dict[str, int]  # type name -> how often it is booked
    patients: str = "adult"  # adult, child or any
    is_clinician_user: bool = False


PROVIDERS = [
    ProviderSpec(
        "Amara Okafor",
        "MD",
        "Family medicine",
        "#0f766e",
        [("MTWF", 0, "08:00-12:00 13:00-17:00"), ("R", 1, "08:00-12:00 13:00-17:00")],
        {0: "Exam 1", 1: "Exam 2"},
        {
            "Follow-up visit": 5,
            "New patient visit": 2,
            "Annual physical": 2,
            "Telehealth check-in": 1,
            "Well-child visit": 1,
        },
        patients="any",
        is_clinician_user=True,
    ),
    ProviderSpec(
        "Daniel Reyes",
        "DO",
        "Internal medicine",
        "#2563eb",
        [("MTRF", 0, "09:00-13:00 14:00-17:00"), ("W", 1, "09:00-13:00 14:00-17:00")],
        {0: "Exam 2", 1: "Exam 2"},
        {
            "Follow-up visit": 5,
            "New patient visit": 2,
            "Annual physical": 2,
            "Telehealth check-in": 2,
        },
    ),
    ProviderSpec(
        "Priya Raman",
        "NP",
        "Pediatrics",
        "#db2777",
        [("MTRF", 0, "08:00-12:00 13:00-17:00"), ("S", 0, "09:00-13:00")],
        {0: "Exam 3"},
        {
            "Well-child visit": 4,
            "Follow-up visit": 3,
            "New patient visit": 1,
            "Telehealth check-in": 1,
        },
        patients="child",
    ),
    ProviderSpec(
        "Marcus Bell",
        "PA",
        "Urgent and family care",
        "#b45309",
        [("TWRF", 1, "10:00-14:00 15:00-19:00"), ("S", 1, "09:00-13:00")],
        {1: "Exam 1"},
        {"Follow-up visit": 4, "New patient visit": 1, "Telehealth check-in": 2},
    ),
    ProviderSpec(
        "Sofia Alvarez",
        "DDS",
        "General dentistry",
        "#7c3aed",
        [("MTWR", 1, "08:00-12:00 13:00-17:00")],
        {1: "Dental operatory 1"},
        {"Dental cleaning": 1},
        patients="any",
    ),
    # Part-time: two days a week.
    ProviderSpec(
        "Hannah Kim",
        "MD",
        "Internal medicine",
        "#ea580c",
        [("TR", 0, "08:00-12:00 13:00-16:00")],
        {0: "Exam 4"},
        {
            "Follow-up visit": 3,
            "Annual physical": 2,
            "Telehealth check-in": 2,
            "New patient visit": 1,
        },
    ),
]
CANCEL_REASONS = [
    "Patient feeling better",
    "Work conflict",
    "No transportation",
    "Patient will call to rebook",
    "Insurance question to resolve first",
    "Family emergency",
    "Provider out sick",
]


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday of a month (n = -1: the last)."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def us_holidays(year: int) -> list[tuple[date, str]]:
    return [
        (date(year, 1, 1), "New Year's Day"),
        (_nth_weekday(year, 1, 0, 3), "Martin Luther King Jr. Day"),
        (_nth_weekday(year, 2, 0, 3), "Presidents' Day"),
        (_nth_weekday(year, 5, 0, -1), "Memorial Day"),
        (date(year, 6, 19), "Juneteenth"),
        (date(year, 7, 4), "Independence Day"),
        (_nth_weekday(year, 9, 0, 1), "Labor Day"),
        (_nth_weekday(year, 11, 3, 4), "Thanksgiving Day"),
        (date(year, 12, 25), "Christmas Day"),
    ]
