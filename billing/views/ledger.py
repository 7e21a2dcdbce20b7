"""A patient's ledger (balance, entries, invoices, policies) and the printable statement."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.actors import membership_of
from billing.forms import (
    AdjustmentForm,
    InvoiceForm,
    PaymentForm,
    PolicyForm,
    RefundForm,
)
from billing.models import BillingSettings, Invoice, Payment, Policy
from billing.permissions import Perm, require, role_may
from billing.selectors.ledger import patient_balance, patient_ledger
from billing.services import policy_create, policy_verify_eligibility
from billing.services.ledger import (
    adjustment_record,
    invoice_create,
    invoice_open_amount,
    payment_record,
    refund_issue,
)
from billing.views.helpers import billing_page, perms_of
from clinic.audit import audit_record_access
from clinic.clock import clinic_tz
from clinic.models import Patient
from portal.errors import ApplicationError


def _context(request: HttpRequest, patient: Patient, **forms) -> dict:
    invoices = list(
        Invoice.objects.filter(patient=patient).order_by("-issued_on", "-id")
    )
    for invoice in invoices:
        invoice.open_amount = invoice_open_amount(invoice)
    role = request.membership.role
    return {
        "patient": patient,
        "balance": patient_balance(patient_id=patient.pk),
        "entries": patient_ledger(patient_id=patient.pk),
        "invoices": invoices,
        "payments": list(
            Payment.objects.filter(patient=patient).order_by("-received_on", "-id")
        ),
        "policies": list(
            Policy.objects.filter(patient=patient)
            .select_related("payer", "eligibility_verified_by")
            .order_by("priority", "-effective_from")
        ),
        "can_pay": role_may(role, Perm.TAKE_PAYMENTS),
        "can_adjust": role_may(role, Perm.ADJUST_LEDGER),
        "can_policies": role_may(role, Perm.MANAGE_POLICIES),
        "perms": perms_of(request),
        "payment_form": forms.get("payment_form") or PaymentForm(patient=patient),
        "refund_form": forms.get("refund_form") or RefundForm(patient=patient),
        "adjustment_form": forms.get("adjustment_form") or AdjustmentForm(),
        "invoice_form": forms.get("invoice_form") or InvoiceForm(),
        "policy_form": forms.get("policy_form") or PolicyForm(),
        "open_form": forms.get("open_form", ""),
    }


@billing_page(Perm.VIEW_LEDGER)
def patient_ledger_page(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    audit_record_access(patient=patient, via="page")
    return render(request, "billing/patient_ledger.html", _context(request, patient))


@billing_page(Perm.VIEW_LEDGER)
def patient_statement(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    audit_record_access(patient=patient, via="page")
    invoices = [
        i
        for i in Invoice.objects.filter(patient=patient, status="open").order_by(
            "issued_on", "id"
        )
    ]
    for invoice in invoices:
        invoice.open_amount = invoice_open_amount(invoice)
    return render(
        request,
        "billing/statement.html",
        {
            "patient": patient,
            "clinic_billing": BillingSettings.objects.first(),
            "balance": patient_balance(patient_id=patient.pk),
            "entries": patient_ledger(patient_id=patient.pk),
            "invoices": [i for i in invoices if i.open_amount > 0],
            "today": timezone.localdate(timezone=clinic_tz()),
        },
    )


def _payment(request, patient, actor) -> tuple[str, object]:
    form = PaymentForm(request.POST, patient=patient)
    if form.is_valid():
        data = form.cleaned_data
        payment_record(
            patient=patient,
            actor=actor,
            amount=data["amount"],
            method=data["method"],
            received_on=data["received_on"],
            reference=data["reference"],
            note=data["note"],
            invoice=data["invoice"],
        )
        return f"Payment of {data['amount']} recorded.", None
    return "", form


def _refund(request, patient, actor) -> tuple[str, object]:
    form = RefundForm(request.POST, patient=patient)
    if form.is_valid():
        data = form.cleaned_data
        refund_issue(
            payment=data["payment"],
            actor=actor,
            amount=data["amount"],
            method=data["method"],
            reason=data["reason"],
        )
        return f"Refund of {data['amount']} recorded.", None
    return "", form


def _adjustment(request, patient, actor) -> tuple[str, object]:
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        adjustment_record(
            patient=patient,
            actor=actor,
            amount=data["amount"],
            reason=data["reason"],
            note=data["note"],
        )
        return "Adjustment recorded.", None
    return "", form


def _invoice(request, patient, actor) -> tuple[str, object]:
    form = InvoiceForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        invoice_create(
            patient=patient,
            actor=actor,
            kind=data["kind"],
            amount=data["amount"],
            description=data["description"],
            due_on=data["due_on"],
        )
        return "Invoice created.", None
    return "", form


def _policy(request, patient, actor) -> tuple[str, object]:
    form = PolicyForm(request.POST)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        policy_create(patient=patient, actor=actor, **data)
        return "Policy added.", None
    return "", form


ACTIONS: dict[str, tuple[Perm, Callable, str]] = {
    "payment": (Perm.TAKE_PAYMENTS, _payment, "payment_form"),
    "refund": (Perm.ADJUST_LEDGER, _refund, "refund_form"),
    "adjustment": (Perm.ADJUST_LEDGER, _adjustment, "adjustment_form"),
    "invoice": (Perm.ADJUST_LEDGER, _invoice, "invoice_form"),
    "policy": (Perm.MANAGE_POLICIES, _policy, "policy_form"),
}


@require_POST
@billing_page(Perm.VIEW_LEDGER)
def patient_ledger_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    patient = get_object_or_404(Patient, pk=pk)
    if action not in ACTIONS:
        raise Http404("No such action.")
    perm, handler, form_name = ACTIONS[action]
    actor = membership_of(request)
    try:
        require(actor, perm)
        notice, form = handler(request, patient, actor)
    except ApplicationError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
        return redirect("billing-patient-ledger", pk)
    except ValidationError as exc:
        form = {
            "payment": lambda: PaymentForm(request.POST, patient=patient),
            "refund": lambda: RefundForm(request.POST, patient=patient),
            "adjustment": lambda: AdjustmentForm(request.POST),
            "invoice": lambda: InvoiceForm(request.POST),
            "policy": lambda: PolicyForm(request.POST),
        }[action]()
        form.is_valid()
        form.add_service_errors(exc)
        notice = ""
    if form is not None:
        return render(
            request,
            "billing/patient_ledger.html",
            _context(request, patient, **{form_name: form, "open_form": action}),
            status=400,
        )
    messages.success(request, notice)
    return redirect("billing-patient-ledger", pk)


@require_POST
@billing_page(Perm.MANAGE_POLICIES)
def policy_verify(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(Policy, pk=pk)
    policy_verify_eligibility(
        policy=policy,
        actor=membership_of(request),
        note=request.POST.get("note", "")[:300].replace("\x00", ""),
    )
    messages.success(request, "Eligibility verified today.")
    return redirect("billing-patient-ledger", policy.patient_id)
