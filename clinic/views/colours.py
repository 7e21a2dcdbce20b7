"""The visit types' colours as a stylesheet, so the calendars need no <style> element.

The Content-Security-Policy allows stylesheets from the portal only; the
calendars' visits carry a class per type (`t<pk>`) that this sheet colours.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from clinic.models import AppointmentType
from portal.decorators import staff_required


@staff_required
def type_colours_css(request: HttpRequest) -> HttpResponse:
    # `colour` is validated as #rrggbb, so it is safe inside CSS.
    rules = "".join(
        f".t{pk}{{--c:{colour}}}"
        for pk, colour in AppointmentType.objects.values_list("pk", "colour")
    )
    return HttpResponse(rules, content_type="text/css; charset=utf-8")
