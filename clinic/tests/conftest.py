"""Fixtures used by several clinic test modules (the clinics are in the root conftest)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from clinic.tests.api_support import client_for


@pytest.fixture
def api(clinic, staff_user) -> APIClient:
    """A partner API client holding a token of alpha's front desk."""
    return client_for(staff_user, clinic)


@pytest.fixture
def beta_api(other_clinic, other_staff_user) -> APIClient:
    """A partner API client holding a token of beta's front desk."""
    return client_for(other_staff_user, other_clinic)
