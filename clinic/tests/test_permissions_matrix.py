"""The README's role matrix, cell by cell, against each app's permissions module.

The table is read from README.md, so the documentation and the rules cannot
drift apart: a changed rule fails here until the README says so too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from billing import permissions as billing
from calls import permissions as calls
from clinic import permissions as clinic_rules
from clinic.permissions import Perm, role_may
from portal.models import Membership, Role

ROLES = {
    "admin": Role.ADMIN,
    "clinician": Role.CLINICIAN,
    "front desk": Role.FRONT_DESK,
    "billing": Role.BILLING,
}


def _clinic(*perms: Perm) -> Callable[[str], bool]:
    return lambda role: all(role_may(role, perm) for perm in perms)


def _billing(*perms: billing.Perm) -> Callable[[str], bool]:
    return lambda role: all(billing.role_may(role, perm) for perm in perms)


def _calls(*checks: Callable) -> Callable[[str], bool]:
    return lambda role: all(check(Membership(role=role)) for check in checks)


def _records(*checks: Callable) -> Callable[[str], bool]:
    return lambda role: all(check(Membership(role=role)) for check in checks)


def _kinds(*kinds: str) -> Callable[[str], bool]:
    def rule(role: str) -> bool:
        who = Membership(role=role)
        return all(
            clinic_rules.may_view_document(who, kind)
            and clinic_rules.may_upload_document(who, kind)
            and clinic_rules.may_review_document(who, kind)
            for kind in kinds
        )

    return rule


# Each README row, by the start of its label, and the rule that answers it.
RULES: dict[str, Callable[[str], bool]] = {
    "**clinic/**: read patients": _clinic(Perm.VIEW_PATIENTS),
    "add, edit, archive patients": _clinic(Perm.EDIT_PATIENTS),
    "bulk import patients": _clinic(Perm.IMPORT_PATIENTS),
    "read the schedule": _clinic(Perm.VIEW_SCHEDULE),
    "book, move, confirm": _clinic(Perm.CHANGE_SCHEDULE),
    "add to, remove from, book from the waitlist": _clinic(Perm.MANAGE_WAITLIST),
    "overbook": _clinic(Perm.OVERBOOK),
    "set up locations": _clinic(Perm.SET_UP_SCHEDULE),
    "edit workflows": _clinic(Perm.EDIT_WORKFLOWS, Perm.EDIT_SETTINGS),
    "read and export the audit trail": _clinic(Perm.VIEW_AUDIT, Perm.CLINIC_ADMIN),
    "**calls/**: read conversations": _calls(calls.can_read_messages),
    "text patients": _calls(calls.can_send_messages),
    "change the reminder policy": _calls(
        calls.can_edit_policy, calls.can_export_consent
    ),
    "see the call board": _calls(calls.can_read_messages),
    "call patients, hang up": _calls(calls.can_place_calls),
    "run call campaigns": _calls(calls.can_run_campaigns),
    "**records**: see, upload, review insurance cards": _kinds(
        "insurance_card", "identity"
    ),
    "see, upload, review consent forms": _kinds("consent_form", "referral"),
    "see, upload, review lab results": _kinds("lab_result", "other"),
    "read clinical notes' content": _records(clinic_rules.can_read_note_content),
    "draft, sign": _records(
        clinic_rules.can_write_notes,
        lambda who: clinic_rules.can_sign_note(who, provider_membership_id=None),
    ),
    "create, assign, work and comment on tasks": _records(clinic_rules.can_work_tasks),
    "**billing/**: billing home": _billing(billing.Perm.SEE_BILLING),
    "code encounters": _billing(billing.Perm.CODE_ENCOUNTERS),
    "read claims": _billing(
        billing.Perm.VIEW_CLAIMS,
        billing.Perm.VIEW_LEDGER,
        billing.Perm.MANAGE_POLICIES,
        billing.Perm.TAKE_PAYMENTS,
    ),
    "edit claims": _billing(
        billing.Perm.EDIT_CLAIMS,
        billing.Perm.MANAGE_PAYERS,
        billing.Perm.ADJUST_LEDGER,
        billing.Perm.REMITTANCES,
        billing.Perm.DASHBOARD,
    ),
}


def _readme_matrix() -> list[tuple[str, str, bool]]:
    text = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = text.split("\n## Roles\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[1:] == list(ROLES), header
    cells = []
    for line in lines[2:]:
        label, *answers = (cell.strip() for cell in line.strip("|").split("|"))
        for role, answer in zip(ROLES, answers, strict=True):
            assert answer in ("yes", "no"), line
            cells.append((label, role, answer == "yes"))
    return cells


MATRIX = _readme_matrix()


def _rule_for(label: str) -> Callable[[str], bool]:
    (rule,) = [rule for start, rule in RULES.items() if label.startswith(start)]
    return rule


def test_every_row_of_the_readme_has_a_rule_and_every_rule_a_row():
    labels = {label for label, _, _ in MATRIX}
    for label in labels:
        _rule_for(label)
    assert len(labels) == len(RULES)


@pytest.mark.parametrize(
    ("label", "role", "allowed"),
    MATRIX,
    ids=[f"{label[:40]} / {role}" for label, role, _ in MATRIX],
)
def test_each_cell_of_the_role_matrix(label, role, allowed):
    assert _rule_for(label)(ROLES[role]) is allowed
