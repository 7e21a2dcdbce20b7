"""Money in: patient payments, patient balances, 835 remittances."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.actors import membership_of
from billing.api.base import BillingViewSet
from billing.api.filters import PaymentFilter, RemittanceFilter
from billing.api.serializers import (
    BalanceSerializer,
    ImportResultSerializer,
    PaymentSerializer,
    RemittanceSerializer,
    RemittanceUploadSerializer,
)
from billing.models import Payment, PaymentAllocation, Remittance, RemittanceClaim
from billing.permissions import Perm, api_permission
from billing.selectors.ledger import patient_balance
from billing.services import remittance_import
from billing.services.ledger import payment_record
from clinic.audit import audit_record_access
from clinic.models import Patient
from portal.api.parsers import ClinicJSONParser
from portal.api.permissions import IsClinicMember


@extend_schema(tags=["billing"])
@extend_schema_view(
    list=extend_schema(
        summary="List patient payments", responses={200: PaymentSerializer(many=True)}
    ),
    retrieve=extend_schema(
        summary="Read a payment", responses={200: PaymentSerializer}
    ),
    create=extend_schema(
        summary="Take a payment",
        description="Settles `invoice`, or the oldest open invoices first; "
        "the rest is a credit on the account.",
        responses={201: PaymentSerializer},
    ),
)
class PaymentViewSet(BillingViewSet):
    """Money patients paid; the front desk takes payments too."""

    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter
    read_perm, write_perm = Perm.VIEW_LEDGER, Perm.TAKE_PAYMENTS
    audit_what = "Payment list"

    def get_queryset(self) -> QuerySet[Payment]:
        return Payment.objects.prefetch_related(
            Prefetch("allocations", queryset=PaymentAllocation.objects.order_by("id"))
        ).order_by("-id")

    def list(self, request: Request) -> Response:
        return self.list_page(request, PaymentSerializer)

    def retrieve(self, request: Request, pk: int) -> Response:
        payment = self.row(pk)
        audit_record_access(patient=payment.patient, via="api")
        return Response(PaymentSerializer(payment).data)

    def create(self, request: Request) -> Response:
        serializer = PaymentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        payment = payment_record(patient=data.pop("patient"), actor=self.actor, **data)
        return Response(
            PaymentSerializer(self.row(payment.pk)).data, status=status.HTTP_201_CREATED
        )


class PatientBalanceView(APIView):
    """A patient's account balance, computed in the database on every read."""

    def get_permissions(self) -> list:
        return [IsClinicMember(), api_permission(Perm.VIEW_LEDGER)()]

    @extend_schema(
        tags=["billing"],
        summary="A patient's balance",
        responses={200: BalanceSerializer},
    )
    def get(self, request: Request, pk: int) -> Response:
        patient = get_object_or_404(Patient.objects.all(), pk=pk)
        audit_record_access(patient=patient, via="api")
        balance = patient_balance(patient_id=patient.pk)
        return Response(
            BalanceSerializer({"patient": patient.pk, **balance.__dict__}).data
        )


@extend_schema(tags=["billing"])
@extend_schema_view(
    list=extend_schema(
        summary="List imported remittances (835)",
        responses={200: RemittanceSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="Read a remittance and how its claims matched",
        responses={200: RemittanceSerializer},
    ),
)
class RemittanceViewSet(BillingViewSet):
    """835 remittances: upload one to post its payments; read what matched."""

    serializer_class = RemittanceSerializer
    filterset_class = RemittanceFilter
    read_perm = write_perm = Perm.REMITTANCES
    parser_classes = [MultiPartParser, ClinicJSONParser]
    audit_what = "Remittance list"

    def get_queryset(self) -> QuerySet[Remittance]:
        return Remittance.objects.prefetch_related(
            Prefetch("claims", queryset=RemittanceClaim.objects.order_by("sequence"))
        ).order_by("-id")

    def list(self, request: Request) -> Response:
        return self.list_page(
            request, RemittanceSerializer, patient_of=lambda row: None
        )

    def retrieve(self, request: Request, pk: int) -> Response:
        return Response(RemittanceSerializer(self.row(pk)).data)

    @extend_schema(
        summary="Upload an 835 remittance",
        description="Validated by pyx12 (400 with its errors, nothing posted), matched to "
        "claims and posted line by line. Payments already imported (same payer and trace "
        "number) are listed under `duplicates` and posted nothing twice; claim payments "
        "that match no claim wait in the unmatched queue.",
        request={
            "multipart/form-data": RemittanceUploadSerializer,
            "application/json": RemittanceUploadSerializer,
        },
        responses={201: ImportResultSerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = RemittanceUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data.get("file")
        content = (
            upload.read()
            if upload is not None
            else serializer.validated_data["content"]
        )
        result = remittance_import(content=content, actor=membership_of(request))
        imported = self.get_queryset().filter(pk__in=[r.pk for r in result.remittances])
        return Response(
            ImportResultSerializer(
                {
                    "imported": imported,
                    "duplicates": result.duplicates,
                    "posted": result.posted,
                    "unmatched": result.unmatched,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )
