"""The demo clinic's data: who works there, its workflows, and synthetic patients.

Everything is fiction: names drawn from tables below, addresses on real streets
with invented numbers, phone numbers in the 555-01xx range set aside for films
and books. The same seed and day give the same patients.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import phonenumbers

from portal.models import Role

# --- The clinic and its staff -----------------------------------------------------

SLUG = "demo"
NAME = "Riverside Family Clinic"
TIMEZONE = "America/New_York"
MAIN_PHONE = "+12125550100"
STAFF_PHONE = "+12125550101"
PRIMARY_COLOR = "#0f766e"
DEFAULT_PASSWORD = "Riverside-demo-2026"
SEED = 20260101
PATIENTS = 200

STAFF = [
    ("admin@demo.clinic", "Dana Whitfield", Role.ADMIN),
    ("clinician@demo.clinic", "Dr. Amara Okafor", Role.CLINICIAN),
    ("frontdesk@demo.clinic", "Luis Ortega", Role.FRONT_DESK),
    ("billing@demo.clinic", "Mei Chen", Role.BILLING),
]
OPERATOR = ("operator@demo.clinic", "Platform Operator")

# --- Workflows besides the default ------------------------------------------------

WORKFLOWS = [
    {
        "name": "New patient intake",
        "slug": "new-patient-intake",
        "description": "First visit: how the patient found us, insurance and the reason for coming.",
        "fields": [
            {
                "name": "referral_source",
                "label": "Referral source",
                "type": "choice",
                "required": True,
                "choices": [
                    "Self",
                    "Physician referral",
                    "Insurance directory",
                    "Friend or family",
                    "Online search",
                    "Community event",
                ],
            },
            {
                "name": "insurance_member_id",
                "label": "Insurance member ID",
                "type": "text",
            },
            {"name": "reason_for_visit", "label": "Reason for visit", "type": "text"},
        ],
    },
    {
        "name": "Dental recall",
        "slug": "dental-recall",
        "description": "Patients called back for cleanings at a regular interval.",
        "fields": [
            {
                "name": "recall_interval_months",
                "label": "Recall interval (months)",
                "type": "integer",
                "required": True,
            },
            {"name": "last_cleaning", "label": "Last cleaning", "type": "date"},
        ],
    },
]


# --- Synthetic people -------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    weight: int
    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]
    languages: tuple[tuple[str, int], ...]  # (code, weight); the rest speak English
    last_female: tuple[str, ...] = ()  # languages whose surnames change with gender
    double_surname: float = 0.0  # share of people with two surnames


# fmt: off
ORIGINS = [
    Origin(
        28,
        ("Emily", "Sarah", "Jessica", "Megan", "Hannah", "Olivia", "Abigail", "Margaret", "Ruth", "Brittany"),
        ("James", "Michael", "Ethan", "Tyler", "Matthew", "Noah", "Benjamin", "Robert", "Harold", "Caleb"),
        ("Smith", "Johnson", "Miller", "Davis", "Anderson", "Taylor", "Thompson", "Walker", "Harris",
         "Clark", "Lewis", "Young", "Wright", "Hill", "Baker", "Carter", "O'Brien", "Murphy", "Sullivan"),
        (("en", 1),),
    ),
    Origin(
        20,
        ("Sofía", "María", "Valentina", "Camila", "Lucía", "Guadalupe", "Ximena", "Rosa", "Daniela"),
        ("José", "Luis", "Carlos", "Mateo", "Santiago", "Diego", "Javier", "Miguel Ángel", "Rafael"),
        ("García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez",
         "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Reyes", "Morales", "De la Cruz"),
        (("es", 6), ("en", 4)),
        double_surname=0.25,
    ),
    Origin(
        7,
        ("Mei", "Xiuying", "Li Na", "Jing", "Yan", "Hui"),
        ("Wei", "Jian", "Hao", "Jun", "Ming", "Zhiwei"),
        ("Chen", "Wang", "Li", "Zhang", "Liu", "Huang", "Zhao", "Wu", "Lin", "Zhou"),
        (("zh", 6), ("en", 4)),
    ),
    Origin(
        4,
        ("Linh", "Thao", "Ngoc Anh", "Huong", "Mai"),
        ("Minh", "Tuan", "Duc", "Khanh", "Bao"),
        ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang", "Bui"),
        (("vi", 6), ("en", 4)),
    ),
    Origin(
        5,
        ("Maria Clara", "Jasmine", "Angelica", "Rosalinda", "Kristine"),
        ("Mark Anthony", "Jericho", "Paolo", "Ramon", "Jerome"),
        ("Santos", "Reyes", "Cruz", "Bautista", "Ocampo", "Mendoza", "Dela Cruz", "Villanueva"),
        (("tl", 3), ("en", 7)),
    ),
    Origin(
        4,
        ("Fatima", "Aisha", "Layla", "Mariam", "Noor"),
        ("Omar", "Youssef", "Ahmed", "Khalid", "Karim"),
        ("Haddad", "Khalil", "Nasser", "Saleh", "Mansour", "Abdullah", "Hassan", "Farah"),
        (("ar", 5), ("en", 5)),
    ),
    Origin(
        4,
        ("Ji-woo", "Seo-yeon", "Min-ji", "Hye-jin"),
        ("Min-jun", "Ji-hoon", "Hyun-woo", "Sung-min"),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"),
        (("ko", 5), ("en", 5)),
    ),
    Origin(
        3,
        ("Anastasia", "Natalia", "Olga", "Svetlana"),
        ("Dmitri", "Sergei", "Ivan", "Alexei"),
        ("Ivanov", "Petrov", "Smirnov", "Volkov", "Sokolov"),
        (("ru", 6), ("en", 4)),
        last_female=("Ivanova", "Petrova", "Smirnova", "Volkova", "Sokolova"),
    ),
    Origin(
        2,
        ("Katarzyna", "Ewa", "Agnieszka"),
        ("Piotr", "Tomasz", "Krzysztof"),
        ("Kowalski", "Nowak", "Wiśniewski", "Wójcik"),
        (("pl", 5), ("en", 5)),
        last_female=("Kowalska", "Nowak", "Wiśniewska", "Wójcik"),
    ),
    Origin(
        5,
        ("Roseline", "Fabienne", "Nadège", "Widline", "Marie-Claude"),
        ("Jean-Baptiste", "Wesner", "Frantz", "Jacques", "Réginald"),
        ("Jean-Louis", "Pierre", "Joseph", "Charles", "Baptiste", "Désir", "Louis", "Célestin"),
        (("ht", 5), ("fr", 2), ("en", 3)),
    ),
    Origin(
        6,
        ("Priya", "Ananya", "Kavya", "Sunita", "Deepa"),
        ("Arjun", "Rohan", "Vikram", "Rahul", "Sanjay"),
        ("Patel", "Sharma", "Singh", "Gupta", "Reddy", "Iyer", "Desai", "Shah"),
        (("hi", 3), ("en", 7)),
    ),
    Origin(
        6,
        ("Chiamaka", "Adaeze", "Abena", "Amara", "Tigist", "Folake"),
        ("Chinedu", "Kwame", "Oluwaseun", "Tesfaye", "Emeka", "Kofi"),
        ("Okafor", "Adeyemi", "Mensah", "Okonkwo", "Boateng", "Bekele", "Eze", "Owusu"),
        (("en", 1),),
    ),
    Origin(
        3,
        ("Ana Beatriz", "Larissa", "Gabriela", "Juliana"),
        ("João", "Pedro Henrique", "Thiago", "Rafael"),
        ("Silva", "Santos", "Oliveira", "Souza", "Costa", "Ferreira", "Almeida", "Carvalho"),
        (("pt", 6), ("en", 4)),
    ),
    Origin(
        3,
        ("Lena", "Annika", "Camille", "Chloé"),
        ("Lukas", "Jonas", "Julien", "Antoine"),
        ("Müller", "Schmidt", "Fischer", "Weber", "Dubois", "Lefèvre", "Moreau", "Girard"),
        (("de", 2), ("fr", 2), ("en", 6)),
    ),
]

STREETS = [
    "Riverside Dr", "Amsterdam Ave", "Broadway", "Columbus Ave", "W 104th St", "W 110th St",
    "Fort Washington Ave", "Dyckman St", "Convent Ave", "St Nicholas Ave", "Claremont Ave",
    "Haven Ave", "Academy St", "Sherman Ave", "Cabrini Blvd", "W 181st St",
]
PLACES = [
    ("New York", "NY", ("10024", "10025", "10027", "10031", "10032", "10033", "10034", "10040")),
    ("Bronx", "NY", ("10463", "10468", "10453")),
    ("Yonkers", "NY", ("10701", "10705")),
    ("Fort Lee", "NJ", ("07024",)),
]
AREA_CODES = ("212", "646", "917", "718", "347", "929", "914", "201", "516")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
REASONS_ADULT = [
    "Annual physical", "Persistent cough", "Knee pain after running", "Blood pressure follow-up",
    "Diabetes management", "Skin rash", "Seasonal allergies", "Lower back pain",
    "Trouble sleeping", "Flu vaccination", "Headaches", "Prenatal consultation",
]
REASONS_CHILD = ["Well-child visit", "School physical", "Ear pain", "Vaccinations", "Fever and sore throat"]
REASONS_SENIOR = [
    "Medicare wellness visit", "Blood pressure follow-up", "Joint pain", "Memory concerns",
    "Medication review", "Shortness of breath on exertion",
]
# fmt: on


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum() or c in ".-")


def _phone_numbers(rng: random.Random, count: int) -> list[str]:
    """Distinct, valid US numbers in the 555-0100..0199 range set aside for fiction."""
    pool = [
        f"+1{area}5550{line:03d}" for area in AREA_CODES for line in range(100, 200)
    ]
    pool.remove(MAIN_PHONE)
    pool.remove(STAFF_PHONE)
    numbers = rng.sample(pool, count)
    for number in numbers:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number
    return numbers


def _date_of_birth(rng: random.Random, today: date) -> date:
    band = rng.choices(["child", "adult", "senior"], weights=[18, 55, 27])[0]
    low, high = {"child": (0, 17), "adult": (18, 64), "senior": (65, 95)}[band]
    age = rng.randint(low, high)
    return today - timedelta(days=int(age * 365.25) + rng.randint(0, 364))


def _age(dob: date, today: date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def demo_patient_rows(
    *, today: date, workflows: dict[str, object], count: int = PATIENTS
) -> list[dict]:
    """`count` synthetic patients, the same ones for the same seed and day."""
    rng = random.Random(SEED)
    phones = _phone_numbers(rng, count)
    rows: list[dict] = []
    seen_emails: set[str] = set()
    for index in range(count):
        origin = rng.choices(ORIGINS, weights=[o.weight for o in ORIGINS])[0]
        female = rng.random() < 0.52
        first = rng.choice(origin.female if female else origin.male)
        surnames = origin.last_female if female and origin.last_female else origin.last
        last = rng.choice(surnames)
        if origin.double_surname and rng.random() < origin.double_surname:
            last = f"{last} {rng.choice(origin.last)}"
        sex = "female" if female else "male"
        if rng.random() < 0.02:
            sex = rng.choice(["other", "unknown"])
        dob = _date_of_birth(rng, today)
        age = _age(dob, today)
        codes, weights = zip(*origin.languages, strict=True)
        language = rng.choices(codes, weights=weights)[0]
        if age < 18 and rng.random() < 0.5:
            language = "en"

        phone = phones[index] if rng.random() > 0.05 else ""
        email = ""
        if age >= 16 and rng.random() < 0.85:
            local = f"{_ascii(first.split()[0])}.{_ascii(last.split()[0])}"
            if local in seen_emails or rng.random() < 0.3:
                local = f"{local}{rng.randint(1, 99)}"
            seen_emails.add(local)
            email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
        city, state, zips = rng.choice(PLACES)
        street = f"{rng.randint(1, 899)} {rng.choice(STREETS)}"
        if rng.random() < 0.6:
            street += f", Apt {rng.randint(1, 12)}{rng.choice('ABCDEFGH')}"
        address = f"{street}\n{city}, {state} {rng.choice(zips)}"

        kind = rng.choices(
            ["general", "new-patient-intake", "dental-recall"], weights=[45, 35, 20]
        )[0]
        fields: dict[str, object] = {}
        if kind == "new-patient-intake":
            fields["referral_source"] = rng.choice(WORKFLOWS[0]["fields"][0]["choices"])
            if rng.random() < 0.85:
                fields["insurance_member_id"] = rng.choice(
                    ["XHB", "MCD", "UHC", "AET", "EMP"]
                ) + str(rng.randint(100_000_000, 999_999_999))
            reasons = (
                REASONS_CHILD
                if age < 18
                else REASONS_SENIOR
                if age >= 65
                else REASONS_ADULT
            )
            if not female:
                reasons = [r for r in reasons if not r.startswith("Prenatal")]
            if rng.random() < 0.9:
                fields["reason_for_visit"] = rng.choice(reasons)
        elif kind == "dental-recall":
            fields["recall_interval_months"] = rng.choice([3, 4, 6, 6, 6, 12])
            if rng.random() < 0.8:
                fields["last_cleaning"] = (
                    today - timedelta(days=rng.randint(20, 700))
                ).isoformat()

        rows.append(
            {
                "first_name": first,
                "last_name": last,
                "date_of_birth": dob,
                "sex": sex,
                "phone": phone,
                "email": email,
                "address": address,
                "preferred_language": language,
                "sms_consent": bool(phone) and rng.random() < 0.8,
                "voice_consent": bool(phone) and rng.random() < 0.6,
                "status": "archived" if rng.random() < 0.04 else "active",
                "workflow": workflows[kind],
                "fields": fields,
            }
        )
    return rows
