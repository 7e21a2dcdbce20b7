"""Clinical note pages: a visit's note, drafting, signing, addenda, a patient's notes.

Content is shown to clinicians and admins only (clinic.permissions); front
desk and billing get the same page with the note's existence and state. Every
view of a note page writes an access entry saying whether content was shown.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from clinic.audit import audit_record_access
from clinic.forms.records import AddendumForm, NoteForm, PrescriptionFormSet
from clinic.models import Appointment, ClinicalNote, Patient
from clinic.permissions import (
    NOTE_WRITE_REFUSED,
    can_read_note_content,
    can_sign_note,
    can_write_notes,
)
from clinic.selectors.notes import note_meta, note_with_content, notes_meta
from clinic.services.notes import (
    note_add_addendum,
    note_create,
    note_sign,
    note_update,
)
from clinic.views.helpers import clinic_time
from portal.decorators import staff_required
from portal.errors import ApplicationError


def _audit(note: ClinicalNote, *, content: bool, what: str = "page") -> None:
    shown = "content" if content else "existence only"
    audit_record_access(
        patient=note.patient, via=f"clinical note {note.pk} {what} ({shown})"
    )


def _require_writer(request: HttpRequest) -> None:
    if not can_write_notes(request.membership):
        raise PermissionDenied(NOTE_WRITE_REFUSED)


def _prescription_items(formset) -> list[dict]:
    return [item for form in formset.forms if (item := form.item()) is not None]


def _editor(
    request: HttpRequest,
    *,
    appointment: Appointment,
    note: ClinicalNote | None,
    form: NoteForm,
    formset,
    status: int = 200,
) -> HttpResponse:
    context = {
        "appointment": appointment,
        "note": note,
        "form": form,
        "formset": formset,
    }
    return render(request, "clinic/note_form.html", context, status=status)


def _save(request: HttpRequest, appointment: Appointment, note: ClinicalNote | None):
    form = NoteForm(request.POST)
    formset = PrescriptionFormSet(request.POST, prefix="rx")
    if form.is_valid() and formset.is_valid():
        data = {
            "assessment": form.cleaned_data["assessment"],
            "plan": form.cleaned_data["plan"],
            "diagnoses": form.diagnosis_items(),
            "prescriptions": _prescription_items(formset),
        }
        try:
            if note is None:
                note = note_create(
                    actor=request.membership, appointment=appointment, **data
                )
            else:
                note = note_update(actor=request.membership, note=note, **data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Draft saved.")
            return redirect("note-detail", pk=note.pk)
    return _editor(
        request,
        appointment=appointment,
        note=note,
        form=form,
        formset=formset,
        status=400,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
@clinic_time
def appointment_note(request: HttpRequest, pk: int) -> HttpResponse:
    """The visit's note: open it if there is one, or (clinicians) draft it."""
    appointment = get_object_or_404(
        Appointment.objects.select_related("patient", "provider"), pk=pk
    )
    existing = ClinicalNote.objects.filter(appointment=appointment).only("pk").first()
    if existing is not None:
        return redirect("note-detail", pk=existing.pk)
    if not can_write_notes(request.membership):
        raise Http404("This visit has no note.")
    if request.method == "POST":
        return _save(request, appointment, None)
    audit_record_access(patient=appointment.patient, via="new clinical note page")
    return _editor(
        request,
        appointment=appointment,
        note=None,
        form=NoteForm(),
        formset=PrescriptionFormSet(prefix="rx"),
    )


@never_cache
@staff_required
@clinic_time
def note_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A note: its content for clinicians and admins, that it exists for the others."""
    member = request.membership
    if can_read_note_content(member):
        note = note_with_content(pk=pk)
    else:
        note = note_meta(pk=pk)
    if note is None:
        raise Http404("No such note.")
    content = can_read_note_content(member)
    _audit(note, content=content)
    context = {
        "note": note,
        "content": content,
        "can_edit": can_write_notes(member) and not note.is_signed,
        "can_sign": content
        and not note.is_signed
        and can_sign_note(
            member, provider_membership_id=note.appointment.provider.membership_id
        ),
        "can_add": can_write_notes(member) and note.is_signed,
        "addendum_form": AddendumForm(),
    }
    return render(request, "clinic/note_detail.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
@clinic_time
def note_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a draft (clinicians); a signed note is never edited."""
    _require_writer(request)
    note = note_with_content(pk=pk)
    if note is None:
        raise Http404("No such note.")
    if note.is_signed:
        messages.error(request, "This note is signed; write an addendum instead.")
        return redirect("note-detail", pk=pk)
    if request.method == "POST":
        return _save(request, note.appointment, note)
    _audit(note, content=True, what="edit page")
    form = NoteForm(
        initial={
            "assessment": note.assessment,
            "plan": note.plan,
            "diagnoses": NoteForm.diagnoses_text(note),
        }
    )
    formset = PrescriptionFormSet(
        prefix="rx",
        initial=[
            {
                f: getattr(p, f)
                for f in ("drug", "dose", "route", "frequency", "quantity", "refills")
            }
            for p in note.prescriptions.all()
        ],
    )
    return _editor(
        request, appointment=note.appointment, note=note, form=form, formset=formset
    )


@require_POST
@staff_required
@clinic_time
def note_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """POST sign, or add an addendum."""
    _require_writer(request)
    note = get_object_or_404(ClinicalNote.objects.select_related("appointment"), pk=pk)
    try:
        if action == "sign":
            note_sign(actor=request.membership, note=note)
            messages.success(request, "Note signed. It can no longer change.")
        elif action == "addendum":
            form = AddendumForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Write the addendum.")
                return redirect("note-detail", pk=pk)
            note_add_addendum(
                actor=request.membership, note=note, text=form.cleaned_data["text"]
            )
            messages.success(request, "Addendum added.")
        else:
            raise Http404("No such action.")
    except ApplicationError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("note-detail", pk=pk)


@never_cache
@staff_required
@clinic_time
def patient_notes(request: HttpRequest, pk: int) -> HttpResponse:
    """A patient's notes, newest first: which visits have one, and whether signed."""
    patient = get_object_or_404(Patient, pk=pk)
    notes = list(
        notes_meta(patient=patient.pk)
        .select_related("appointment")
        .only(
            "id",
            "status",
            "signed_at",
            "signed_by_label",
            "author_label",
            "created_at",
            "appointment__start",
            "patient_id",
            "appointment_id",
        )
    )
    audit_record_access(patient=patient, via="patient's clinical notes list")
    return render(
        request,
        "clinic/note_list.html",
        {
            "patient": patient,
            "notes": notes,
            "content": can_read_note_content(request.membership),
        },
    )
