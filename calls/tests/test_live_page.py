"""Staff pages carry the shared live client and the seq to catch up from."""

from __future__ import annotations

import re

from portal import live


def test_a_staff_page_names_the_clinics_latest_seq_and_loads_the_live_client(
    staff_client, clinic
):
    html = staff_client.get("/messages/").content.decode()

    found = re.search(r'<meta name="portal-live-seq" content="(\d*)">', html)
    assert found and int(found.group(1)) == live.last_seq(clinic.schema_name)
    assert "/static/js/live.js" in html
    assert html.index("js/live.js") < html.index("js/messages.js")


def test_a_signed_out_page_has_no_live_client(anon_client):
    html = anon_client.get("/account/sign-in/").content.decode()
    assert "portal-live-seq" not in html and "js/live.js" not in html
