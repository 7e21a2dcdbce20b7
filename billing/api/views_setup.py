"""Payers and patients' policies."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.base import BillingViewSet
from billing.api.filters import PayerFilter, PolicyFilter
from billing.api.serializers import (
    EligibilitySerializer,
    PayerSerializer,
    PolicyDetailSerializer,
    PolicySerializer,
    PolicyUpdateSerializer,
)
from billing.models import Payer, Policy
from billing.permissions import Perm
from billing.services import (
    payer_create,
    payer_update,
    policy_create,
    policy_update,
    policy_verify_eligibility,
)
from clinic.audit import audit_record_access


@extend_schema(tags=["billing"])
@extend_schema_view(
    list=extend_schema(
        summary="List payers", responses={200: PayerSerializer(many=True)}
    ),
    retrieve=extend_schema(summary="Read a payer", responses={200: PayerSerializer}),
    create=extend_schema(summary="Add a payer", responses={201: PayerSerializer}),
    partial_update=extend_schema(
        summary="Change a payer", responses={200: PayerSerializer}
    ),
)
class PayerViewSet(BillingViewSet):
    """Insurance companies the clinic bills; billing staff and admins change them."""

    serializer_class = PayerSerializer
    filterset_class = PayerFilter
    read_perm, write_perm = Perm.MANAGE_POLICIES, Perm.MANAGE_PAYERS

    def get_queryset(self) -> QuerySet[Payer]:
        return Payer.objects.all()

    def list(self, request: Request) -> Response:
        return self.list_page(request, PayerSerializer, patient_of=lambda row: None)

    def retrieve(self, request: Request, pk: int) -> Response:
        return Response(PayerSerializer(self.row(pk)).data)

    def create(self, request: Request) -> Response:
        serializer = PayerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payer = payer_create(actor=self.actor, **serializer.validated_data)
        return Response(PayerSerializer(payer).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        payer = self.row(pk)
        serializer = PayerSerializer(payer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        payer = payer_update(payer=payer, actor=self.actor, **serializer.validated_data)
        return Response(PayerSerializer(payer).data)


@extend_schema(tags=["billing"])
@extend_schema_view(
    list=extend_schema(
        summary="List policies",
        description="Member ids are masked here (last four characters).",
        responses={200: PolicySerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="Read a policy",
        description="With the full member id; the read is audited.",
        responses={200: PolicyDetailSerializer},
    ),
    create=extend_schema(
        summary="Add a patient's policy",
        request=PolicySerializer,
        responses={201: PolicySerializer},
    ),
    partial_update=extend_schema(
        summary="Change a policy",
        request=PolicyUpdateSerializer,
        responses={200: PolicySerializer},
    ),
)
class PolicyViewSet(BillingViewSet):
    """Patients' insurance policies; the member id is encrypted at rest."""

    serializer_class = PolicySerializer
    filterset_class = PolicyFilter
    read_perm = write_perm = Perm.MANAGE_POLICIES
    audit_what = "Policy list"

    def get_queryset(self) -> QuerySet[Policy]:
        return Policy.objects.select_related("eligibility_verified_by").order_by("-id")

    def list(self, request: Request) -> Response:
        return self.list_page(request, PolicySerializer)

    def retrieve(self, request: Request, pk: int) -> Response:
        policy = self.row(
            pk, Policy.objects.select_related("patient", "eligibility_verified_by")
        )
        audit_record_access(patient=policy.patient, via="api")
        return Response(PolicyDetailSerializer(policy).data)

    def create(self, request: Request) -> Response:
        serializer = PolicySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        policy = policy_create(patient=data.pop("patient"), actor=self.actor, **data)
        return Response(PolicySerializer(policy).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        policy = self.row(pk)
        serializer = PolicyUpdateSerializer(policy, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        policy = policy_update(
            policy=policy, actor=self.actor, **serializer.validated_data
        )
        return Response(PolicySerializer(policy).data)

    @extend_schema(
        summary="Record an eligibility check",
        request=EligibilitySerializer,
        responses={200: PolicySerializer},
        description="Someone checked the coverage with the payer: when, by whom.",
    )
    @action(detail=True, methods=["post"], url_path="verify-eligibility")
    def verify_eligibility(self, request: Request, pk: int) -> Response:
        serializer = EligibilitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = policy_verify_eligibility(
            policy=self.row(pk),
            actor=self.actor,
            verified_on=serializer.validated_data.get("verified_on"),
            note=serializer.validated_data.get("note", ""),
        )
        return Response(PolicySerializer(policy).data)
