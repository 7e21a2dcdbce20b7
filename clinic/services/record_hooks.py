"""What tasks and notifications other apps' events open: one call from each app.

- calls.services.inbound calls `on_patient_text` once a patient's text is stored.
- billing.services.claim_moves calls `on_claim_denied` beside its own FollowUp.

Both run inside the caller's transaction: a rolled-back text or denial opens
no task and notifies nobody (the live count is published after commit).
"""

from __future__ import annotations

from django.urls import reverse

from calls.models import Conversation
from clinic.models import NotificationKind
from clinic.permissions import CLAIM_DENIED_ROLES, TEXT_ARRIVED_ROLES
from clinic.services.notifications import members_with_roles, notification_send
from clinic.services.tasks import task_open_for_denied_claim, task_open_for_reply

# Texts the portal settled on its own (a confirmation, STOP, HELP) are no news;
# these are the ones a person has to read.
TEXT_NEEDS_PEOPLE = ("conversation", "needs_staff")


def on_patient_text(*, message, action: str) -> None:
    """A patient's text was stored and acted on (`action` as inbound_receive says)."""
    if action not in TEXT_NEEDS_PEOPLE:
        return
    if action == "needs_staff":
        # The reason was written with a queryset update: read it afresh.
        reason = (
            Conversation.objects.filter(pk=message.conversation_id)
            .values_list("attention_reason", flat=True)
            .first()
        )
        task_open_for_reply(message=message, reason=reason or "")
    notification_send(
        membership_ids=members_with_roles(TEXT_ARRIVED_ROLES),
        kind=NotificationKind.PATIENT_TEXT,
        title="A patient's text arrived",
        url=reverse("messages-thread", args=[message.conversation_id]),
    )


def on_claim_denied(*, claim, note: str = "") -> None:
    """A payer denied a claim: a follow-up task, and word to billing and admins."""
    task_open_for_denied_claim(claim=claim, note=note)
    notification_send(
        membership_ids=members_with_roles(CLAIM_DENIED_ROLES),
        kind=NotificationKind.CLAIM_DENIED,
        title=f"Claim #{claim.pk} was denied",
        url=reverse("billing-claim-detail", args=[claim.pk]),
    )
