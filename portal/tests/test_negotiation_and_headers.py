"""The API's fast content negotiation and the no-store headers agree with what
DRF and Django would answer."""

import pytest
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.utils.cache import add_never_cache_headers
from drf_spectacular.renderers import OpenApiYamlRenderer
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request

from portal.api.negotiation import ClinicContentNegotiation
from portal.middleware import NoStoreMiddleware

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "",
    "text/html",
    "application/xml",
    "application/json; indent=4",
    "text/html, application/json;q=0.9",
]
RENDERER_LISTS = [
    [JSONRenderer()],
    [JSONRenderer(), BrowsableAPIRenderer()],
    [BrowsableAPIRenderer(), JSONRenderer()],
    [OpenApiYamlRenderer(), JSONRenderer()],
]


def _choice(negotiation, accept, renderers, query="", suffix=None):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().get(f"/api/v1/patients/{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except NotAcceptable:
        return "406"
    except Http404:
        return "404"
    return type(renderer).__name__, str(media_type)


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("renderers", RENDERER_LISTS, ids=lambda r: type(r[0]).__name__)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api"])
def test_the_api_answers_the_renderer_drf_would_choose(accept, renderers, query):
    ours = _choice(ClinicContentNegotiation(), accept, renderers, query)
    assert ours == _choice(DefaultContentNegotiation(), accept, renderers, query)


def test_a_format_suffix_is_drfs_to_decide():
    renderers = [JSONRenderer(), BrowsableAPIRenderer()]
    for suffix in ("json", "api"):
        assert _choice(ClinicContentNegotiation(), "*/*", renderers, suffix=suffix) == (
            _choice(DefaultContentNegotiation(), "*/*", renderers, suffix=suffix)
        )


def _no_store(response):
    request = RequestFactory().get("/patients/")
    return NoStoreMiddleware(lambda r: response)(request)


def test_no_store_headers_are_the_ones_django_writes():
    ours = _no_store(HttpResponse())
    django = HttpResponse()
    add_never_cache_headers(django)
    assert ours["Cache-Control"] == django["Cache-Control"]
    assert (
        ours["Expires"] == django["Expires"]
        or abs(len(ours["Expires"]) - len(django["Expires"])) == 0
    )
    assert set(ours["Cache-Control"].split(", ")) == {
        "max-age=0",
        "no-cache",
        "no-store",
        "must-revalidate",
        "private",
    }


def test_a_views_own_cache_control_is_merged_not_replaced():
    response = HttpResponse()
    response["Cache-Control"] = "no-transform"
    directives = set(_no_store(response)["Cache-Control"].split(", "))
    assert {"no-transform", "no-store", "private", "max-age=0"} <= directives
