"""Fixtures of the billing tests (the clinics themselves are in the root conftest)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from billing.tests.support import billing_setup, members
from clinic.tests.api_support import client_for


@pytest.fixture
def team(in_clinic):
    """alpha's admin, biller, clinician and front desk (Membership each)."""
    return members(in_clinic)


@pytest.fixture
def setup(in_clinic, team):
    return billing_setup(in_clinic, team.billing)


@pytest.fixture
def api_as(clinic):
    """api_as(membership): a partner API client holding that member's token for alpha."""

    def make(membership) -> APIClient:
        return client_for(membership.user, clinic)

    return make
