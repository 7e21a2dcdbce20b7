"""A document's status reaches its own clinic's sockets only.

The consumer reads the session from another thread (another connection), so
the rows here are committed and removed again by the test.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import date

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from calls.tests.socket_support import connect, session_of  # noqa: F401
from clinic.models import Document, Patient, Task


@pytest.fixture
def committed_media(settings):
    root = tempfile.mkdtemp(prefix="docs-socket-")
    settings.MEDIA_ROOT = root
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_document_status_events_reach_only_the_documents_clinic(
    session_of,
    committed_media,  # noqa: F811
):
    from clinic.services.documents import document_extract, document_upload
    from clinic.tests.documents_support import card_image, image_bytes, upload
    from portal.celery import app
    from portal.models import Clinic, Membership

    alpha_key = session_of("desk@alpha.test")
    beta_key = session_of("desk@beta.test")
    alpha = Clinic.objects.get(slug="alpha")

    async def scenario():
        alpha_socket = await connect("alpha.localhost", alpha_key)
        beta_socket = await connect("beta.localhost", beta_key)

        def work():
            with schema_context(alpha.schema_name):
                connection.set_tenant(alpha)
                desk = Membership.objects.get(
                    user__email="desk@alpha.test", clinic=alpha
                )
                patient = Patient.objects.create(
                    first_name="Sock", last_name="Et", date_of_birth=date(1990, 1, 1)
                )
                document = document_upload(
                    actor=desk,
                    patient=patient,
                    kind=Document.Kind.INSURANCE_CARD,
                    file=upload("card.png", image_bytes(card_image(), "PNG")),
                )
                document_extract(document_id=document.pk)
                return patient.pk, document.pk

        try:
            patient_id, document_id = await asyncio.to_thread(work)
            seen = [await alpha_socket.receive_json_from(timeout=10) for _ in range(3)]
            seqs = [event.pop("seq") for event in seen]
            assert seqs == sorted(seqs) and len(set(seqs)) == 3
            assert seen == [
                {"kind": "document", "id": document_id, "status": status}
                for status in ("uploaded", "processing", "processed")
            ]
            assert await beta_socket.receive_nothing(timeout=0.5)
        finally:
            await alpha_socket.disconnect()
            await beta_socket.disconnect()
        return patient_id, document_id

    try:
        patient_id, document_id = asyncio.run(scenario())
    finally:
        app.control.purge()  # the upload queued its (already run) extraction
        connection.set_schema_to_public()
    with schema_context(alpha.schema_name):
        Task.objects.filter(source_key=f"document:{document_id}").delete()
        Document.objects.filter(pk=document_id).delete()
        Patient.objects.filter(pk=patient_id).delete()
