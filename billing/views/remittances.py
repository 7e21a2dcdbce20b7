"""835 remittances: upload, the list, and the unmatched queue billing staff work by hand."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from billing.actors import membership_of
from billing.forms import DismissForm, MatchForm, UploadForm
from billing.models import Claim, Remittance, RemittanceClaim
from billing.permissions import Perm
from billing.services import (
    remittance_claim_dismiss,
    remittance_claim_match,
    remittance_import,
)
from billing.views.helpers import billing_page
from portal.errors import ApplicationError
from portal.pagination import LookaheadPaginator


@billing_page(Perm.REMITTANCES)
def remittance_list(request: HttpRequest) -> HttpResponse:
    form = UploadForm()
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                result = remittance_import(
                    content=form.cleaned_data["file"].read(),
                    actor=membership_of(request),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request,
                    f"Imported {len(result.remittances)} payment(s): {result.posted} "
                    f"claim payment(s) posted, {result.unmatched} to match by hand"
                    + (
                        f"; already imported: {', '.join(result.duplicates)}"
                        if result.duplicates
                        else ""
                    )
                    + ".",
                )
                return redirect("billing-remittances")
    page = LookaheadPaginator(
        Remittance.objects.select_related("payer").order_by("-id"), 50
    ).page(request.GET.get("page") or 1)
    return render(
        request,
        "billing/remittance_list.html",
        {
            "form": form,
            "page": page,
            "queued": RemittanceClaim.objects.filter(match="unmatched").count(),
        },
        status=400 if form.errors else 200,
    )


@billing_page(Perm.REMITTANCES)
def unmatched_queue(request: HttpRequest) -> HttpResponse:
    rows = (
        RemittanceClaim.objects.filter(match="unmatched")
        .select_related("remittance")
        .prefetch_related("lines", "adjustments")
        .order_by("remittance__imported_at", "id")
    )
    return render(
        request,
        "billing/unmatched.html",
        {"rows": rows[:200], "match_form": MatchForm(), "dismiss_form": DismissForm()},
    )


@require_POST
@billing_page(Perm.REMITTANCES)
def unmatched_resolve(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    row = get_object_or_404(RemittanceClaim, pk=pk)
    actor = membership_of(request)
    form = MatchForm(request.POST) if action == "match" else DismissForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, " ".join(e for errors in form.errors.values() for e in errors)
        )
        return redirect("billing-unmatched")
    try:
        if action == "match":
            claim = get_object_or_404(Claim, pk=form.cleaned_data["claim"])
            remittance_claim_match(
                remittance_claim=row,
                claim=claim,
                actor=actor,
                note=form.cleaned_data["note"],
            )
            messages.success(request, f"Posted to claim {claim.control_number}.")
        else:
            remittance_claim_dismiss(
                remittance_claim=row, actor=actor, note=form.cleaned_data["note"]
            )
            messages.success(request, "Dismissed.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages)[:500])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("billing-unmatched")
