"""Encounters (coding) and claims (the lifecycle, the events, the 837P export)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.base import CONFLICT, BillingViewSet
from billing.api.filters import ClaimFilter, EncounterFilter
from billing.api.serializers import (
    ClaimActionSerializer,
    ClaimCreateSerializer,
    ClaimEventSerializer,
    ClaimSerializer,
    CodingSerializer,
    EncounterOpenSerializer,
    EncounterSerializer,
    ExportResultSerializer,
    ExportSerializer,
)
from billing.models import Claim, ClaimLine, Diagnosis, Encounter, ServiceLine
from billing.permissions import Perm, require
from billing.services import (
    MOVE_SERVICES,
    DiagnosisInput,
    LineInput,
    claim_create,
    claim_create_secondary,
    claims_export_837,
    encounter_code,
    encounter_open,
)
from clinic.audit import audit_record_access


@extend_schema(tags=["billing"])
@extend_schema_view(
    list=extend_schema(
        summary="List encounters", responses={200: EncounterSerializer(many=True)}
    ),
    retrieve=extend_schema(
        summary="Read an encounter with its coding",
        responses={200: EncounterSerializer},
    ),
    create=extend_schema(
        summary="Open the encounter of a completed visit",
        request=EncounterOpenSerializer,
        responses={201: EncounterSerializer, 409: CONFLICT},
    ),
)
class EncounterViewSet(BillingViewSet):
    """Completed visits to code: ICD-10-CM diagnoses and CPT/HCPCS service lines."""

    serializer_class = EncounterSerializer
    filterset_class = EncounterFilter
    read_perm = write_perm = Perm.CODE_ENCOUNTERS
    audit_what = "Encounter list"

    def get_queryset(self) -> QuerySet[Encounter]:
        return Encounter.objects.prefetch_related(
            Prefetch("diagnoses", queryset=Diagnosis.objects.order_by("position")),
            Prefetch("lines", queryset=ServiceLine.objects.order_by("line_number")),
        ).order_by("-id")

    def list(self, request: Request) -> Response:
        return self.list_page(request, EncounterSerializer)

    def retrieve(self, request: Request, pk: int) -> Response:
        encounter = self.row(pk)
        audit_record_access(patient=encounter.patient, via="api")
        return Response(EncounterSerializer(encounter).data)

    def create(self, request: Request) -> Response:
        serializer = EncounterOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        require(self.actor, Perm.CODE_ENCOUNTERS)
        encounter = encounter_open(appointment=serializer.validated_data["appointment"])
        return Response(
            EncounterSerializer(self.row(encounter.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Code an encounter",
        description="Replaces its diagnoses and service lines (in order; pointers "
        "refer to diagnosis positions 1-12). A draft claim follows; a claim that is "
        "ready or sent does not (409: correct the claim instead).",
        request=CodingSerializer,
        responses={200: EncounterSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["put"])
    def coding(self, request: Request, pk: int) -> Response:
        encounter = self.row(pk)
        serializer = CodingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        encounter_code(
            encounter=encounter,
            actor=self.actor,
            diagnoses=[DiagnosisInput(**d) for d in data["diagnoses"]],
            lines=[LineInput(**line) for line in data["lines"]],
            place_of_service=data.get("place_of_service"),
            self_pay=data.get("self_pay"),
        )
        return Response(EncounterSerializer(self.row(pk)).data)


def _move_schema(move: str):
    return extend_schema(
        summary=f"Claim action: {move.replace('_', ' ')}",
        description="One step of the claim's lifecycle; refused with 409 and the claim's "
        "current status and allowed actions when it is not one of them.",
        request=ClaimActionSerializer,
        responses={200: ClaimSerializer, 409: CONFLICT},
    )


@extend_schema(tags=["billing"])
@extend_schema_view(
    list=extend_schema(
        summary="List claims (the work list)",
        responses={200: ClaimSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="Read a claim with its lines and allowed actions",
        responses={200: ClaimSerializer},
    ),
    create=extend_schema(
        summary="Build a claim from a coded encounter",
        request=ClaimCreateSerializer,
        responses={201: ClaimSerializer, 409: CONFLICT},
    ),
)
class ClaimViewSet(BillingViewSet):
    """Claims to payers: the work list, each claim's timeline and its actions."""

    serializer_class = ClaimSerializer
    filterset_class = ClaimFilter
    read_perm, write_perm = Perm.VIEW_CLAIMS, Perm.EDIT_CLAIMS
    audit_what = "Claim list"

    def get_queryset(self) -> QuerySet[Claim]:
        return Claim.objects.prefetch_related(
            Prefetch("lines", queryset=ClaimLine.objects.order_by("line_number"))
        ).order_by("-id")

    def list(self, request: Request) -> Response:
        return self.list_page(request, ClaimSerializer)

    def retrieve(self, request: Request, pk: int) -> Response:
        claim = self.row(pk)
        audit_record_access(patient=claim.patient, via="api")
        return Response(ClaimSerializer(claim).data)

    def create(self, request: Request) -> Response:
        serializer = ClaimCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim = claim_create(
            encounter=serializer.validated_data["encounter"],
            actor=self.actor,
            policy=serializer.validated_data.get("policy"),
        )
        return Response(
            ClaimSerializer(self.row(claim.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="A claim's timeline", responses={200: ClaimEventSerializer(many=True)}
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def events(self, request: Request, pk: int) -> Response:
        claim = self.row(pk)
        return Response(
            ClaimEventSerializer(claim.events.order_by("at", "id"), many=True).data
        )

    def _move(self, request: Request, pk: int, move: str) -> Response:
        claim = self.row(pk)
        serializer = ClaimActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kwargs = {"note": serializer.validated_data.get("note", "")}
        number = serializer.validated_data.get("payer_claim_number")
        if number and move in ("accept", "pay", "partially_pay", "deny"):
            kwargs["payer_claim_number"] = number
        MOVE_SERVICES[move](claim=claim, actor=self.actor, **kwargs)
        return Response(ClaimSerializer(self.row(pk)).data)

    @_move_schema("mark ready")
    @action(detail=True, methods=["post"], url_path="mark-ready")
    def mark_ready(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "mark_ready")

    @_move_schema("reopen")
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "reopen")

    @_move_schema("submit")
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "submit")

    @_move_schema("accept")
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "accept")

    @_move_schema("reject")
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "reject")

    @_move_schema("pay")
    @action(detail=True, methods=["post"])
    def pay(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "pay")

    @_move_schema("partially pay")
    @action(detail=True, methods=["post"], url_path="partially-pay")
    def partially_pay(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "partially_pay")

    @_move_schema("deny")
    @action(detail=True, methods=["post"])
    def deny(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "deny")

    @_move_schema("appeal")
    @action(detail=True, methods=["post"])
    def appeal(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "appeal")

    @_move_schema("resubmit (frequency 7 replacement)")
    @action(detail=True, methods=["post"])
    def resubmit(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "resubmit")

    @_move_schema("void (frequency 8 when the payer has it)")
    @action(detail=True, methods=["post"])
    def void(self, request: Request, pk: int) -> Response:
        return self._move(request, pk, "void")

    @extend_schema(
        summary="Send the balance to the next payer",
        description="After the primary payer paid: a new draft claim to the "
        "patient's secondary (or tertiary) policy.",
        request=None,
        responses={201: ClaimSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def secondary(self, request: Request, pk: int) -> Response:
        claim = claim_create_secondary(claim=self.row(pk), actor=self.actor)
        return Response(
            ClaimSerializer(self.row(claim.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Export ready claims as one 837P interchange",
        description="Every claim must be ready (409 names those that are not); the "
        "file passes pyx12's validation and our own checks or nothing changes "
        "(400). The claims become submitted.",
        request=ExportSerializer,
        responses={
            201: ExportResultSerializer,
            409: OpenApiResponse(
                CONFLICT.response,
                description="Some claims are not ready (`not_ready`).",
            ),
        },
    )
    @action(
        detail=False, methods=["post"], url_path="export-837", pagination_class=None
    )
    def export(self, request: Request) -> Response:
        serializer = ExportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = claims_export_837(
            claims=serializer.validated_data["claims"], actor=self.actor
        )
        return Response(
            {
                "batch": batch.pk,
                "control_number": batch.control_number,
                "claim_count": batch.claim_count,
                "total_charge": f"{batch.total_charge:.2f}",
                "validation": batch.validation,
                "filename": batch.filename,
                "content": batch.content,
            },
            status=status.HTTP_201_CREATED,
        )
