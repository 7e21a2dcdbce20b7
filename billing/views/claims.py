"""The claims work list (filters, bulk actions) and a claim's page (lines, timeline, actions)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.actors import membership_of
from billing.forms import BulkForm, NoteForm, WorkListForm
from billing.models import Claim, ClaimLine, ExportBatch, RemittanceClaim
from billing.permissions import Perm
from billing.selectors.claims import WorkList
from billing.services import (
    LABELS_NEEDING_NOTE,
    MOVE_SERVICES,
    allowed_moves,
    claim_create_secondary,
    claim_mark_ready,
    claims_export_837,
)
from billing.services.claims import LABELS
from billing.views.helpers import billing_page, perms_of
from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.clock import clinic_tz
from portal.errors import ApplicationError
from portal.pagination import LookaheadPaginator

PER_PAGE = 50


@billing_page(Perm.VIEW_CLAIMS)
def claim_list(request: HttpRequest) -> HttpResponse:
    form = WorkListForm(request.GET or None)
    cleaned = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if not request.GET:
        cleaned = {
            "status": [
                Claim.Status.DRAFT,
                Claim.Status.READY,
                Claim.Status.REJECTED,
                Claim.Status.DENIED,
            ]
        }
        form = WorkListForm(initial=cleaned)
    today = timezone.localdate(timezone=clinic_tz())
    page = LookaheadPaginator(WorkList(cleaned=cleaned, today=today), PER_PAGE).page(
        cleaned.get("page") or 1
    )
    audit_record_search(
        patients=[ShownPatient(pk) for pk in dict.fromkeys(c.patient_id for c in page)],
        query="",
        via="page",
        what="Claims work list",
        filters={k: str(v) for k, v in cleaned.items() if v and k != "page"},
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "billing/claim_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "today": today,
            "perms": perms_of(request),
            "rows": [(c, (today - c.date_of_service).days) for c in page],
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
@billing_page(Perm.EDIT_CLAIMS)
def claim_bulk(request: HttpRequest) -> HttpResponse:
    """Mark the ticked claims ready, or export them as one 837P file."""
    form = BulkForm(request.POST)
    back = request.POST.get("next", "")
    target = (
        f"/billing/claims/?{back}" if back and "\n" not in back else "/billing/claims/"
    )
    if not form.is_valid():
        messages.error(
            request, " ".join(e for errs in form.errors.values() for e in errs)
        )
        return redirect(target)
    actor, ids = membership_of(request), form.cleaned_data["claims"]
    if form.cleaned_data["action"] == "export":
        try:
            batch = claims_export_837(claims=ids, actor=actor)
        except (ValidationError, ApplicationError) as exc:
            text = (
                exc.message
                if isinstance(exc, ApplicationError)
                else "; ".join(exc.messages)
            )
            messages.error(request, f"Nothing was exported: {text}"[:1000])
            return redirect(target)
        messages.success(
            request, f"Exported {batch.claim_count} claims as {batch.filename}."
        )
        return redirect("billing-batch-download", batch.pk)
    done, refused = 0, []
    for claim in Claim.objects.filter(pk__in=ids).order_by("pk"):
        try:
            claim_mark_ready(claim=claim, actor=actor)
            done += 1
        except (ValidationError, ApplicationError) as exc:
            reason = (
                exc.message
                if isinstance(exc, ApplicationError)
                else "; ".join(exc.messages)
            )
            refused.append(f"{claim.control_number}: {reason}")
    if done:
        messages.success(request, f"{done} claim(s) marked ready.")
    for line in refused[:20]:
        messages.error(request, line[:500])
    return redirect(target)


@billing_page(Perm.EDIT_CLAIMS)
def batch_download(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ExportBatch, pk=pk)
    response = HttpResponse(batch.content, content_type="application/edi-x12")
    response["Content-Disposition"] = f'attachment; filename="{batch.filename}"'
    return response


def _claim_or_404(pk: int) -> Claim:
    return get_object_or_404(
        Claim.objects.select_related(
            "patient",
            "payer",
            "provider",
            "policy",
            "encounter",
            "batch",
            "original_claim",
            "primary_claim",
        ).prefetch_related(
            Prefetch("lines", queryset=ClaimLine.objects.order_by("line_number")),
        ),
        pk=pk,
    )


def _detail_context(request: HttpRequest, claim: Claim, **extra) -> dict:
    remittances = list(
        RemittanceClaim.objects.filter(claim=claim)
        .select_related("remittance")
        .prefetch_related("lines", "adjustments")
        .order_by("remittance__imported_at", "id")
    )
    posted = [r for r in remittances if r.match in ("posted", "resolved")]
    perms = perms_of(request)
    can_edit = Perm.EDIT_CLAIMS.value in perms
    moves = (
        [
            {
                "slug": m.replace("_", "-"),
                "label": LABELS[m],
                "needs_note": m in LABELS_NEEDING_NOTE,
            }
            for m in allowed_moves(claim.status)
        ]
        if can_edit
        else []
    )
    return {
        "claim": claim,
        "lines": list(claim.lines.all()),
        "events": list(claim.events.select_related("actor").order_by("at", "id")),
        "follow_ups": list(claim.follow_ups.order_by("-created_at")),
        "remittances": remittances,
        "insurance_paid": sum((r.paid for r in posted), 0),
        "moves": moves,
        "can_edit": can_edit,
        "can_secondary": can_edit
        and claim.status in ("paid", "partially_paid")
        and not claim.next_payer_claims.exclude(status="void").exists(),
        "replacements": list(claim.replacements.all()),
        "next_claims": list(claim.next_payer_claims.all()),
        "note_form": extra.pop("note_form", None) or NoteForm(),
        **extra,
    }


@billing_page(Perm.VIEW_CLAIMS)
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    claim = _claim_or_404(pk)
    audit_record_access(patient=claim.patient, via="page")
    return render(request, "billing/claim_detail.html", _detail_context(request, claim))


@require_POST
@billing_page(Perm.EDIT_CLAIMS)
def claim_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One move from the claim page; the service decides, the page shows the outcome."""
    claim = _claim_or_404(pk)
    move = action.replace("-", "_")
    actor = membership_of(request)
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        if move == "secondary":
            new = claim_create_secondary(claim=claim, actor=actor)
            messages.success(
                request, f"Claim {new.control_number} sent the balance on."
            )
            return redirect(new)
        if move not in MOVE_SERVICES or move not in LABELS:
            raise Http404("No such action.")
        kwargs = {"note": form.cleaned_data.get("note", "")}
        if move in ("accept", "pay", "partially_pay", "deny") and form.cleaned_data.get(
            "payer_claim_number"
        ):
            kwargs["payer_claim_number"] = form.cleaned_data["payer_claim_number"]
        MOVE_SERVICES[move](claim=claim, actor=actor, **kwargs)
    except ValidationError as exc:
        form.add_service_errors(exc)
        return render(
            request,
            "billing/claim_detail.html",
            _detail_context(
                request,
                _claim_or_404(pk),
                note_form=form,
                error="This claim cannot move yet:",
            ),
            status=400,
        )
    except ApplicationError as exc:
        return render(
            request,
            "billing/claim_detail.html",
            _detail_context(request, _claim_or_404(pk), error=exc.message),
            status=exc.status,
        )
    messages.success(request, f"{LABELS[move]}: done.")
    return redirect("billing-claim-detail", pk)


__all__ = ["batch_download", "claim_action", "claim_bulk", "claim_detail", "claim_list"]
