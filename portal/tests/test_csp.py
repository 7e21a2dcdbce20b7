"""The CSP header our middleware writes is django-csp's, built once per settings."""

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from portal.csp import CSPMiddleware


def _both(response_factory=HttpResponse, path="/patients/"):
    """The headers of our middleware and of django-csp's for the same response."""
    out = []
    for middleware in (CSPMiddleware, DjangoCSPMiddleware):
        request = RequestFactory().get(path)
        csp = middleware(lambda r: response_factory())
        csp.process_request(request)
        response = csp.process_response(request, response_factory())
        out.append(
            (response.get(HEADER), response.get(HEADER_REPORT_ONLY), request.csp_nonce)
        )
    return out


def test_the_header_is_the_one_django_csp_writes():
    ours, theirs = _both()
    assert ours[:2] == theirs[:2]
    assert "frame-ancestors 'none'" in ours[0]


def test_changed_settings_change_the_header_and_a_report_only_policy_is_written():
    policy = {"DIRECTIVES": {"default-src": ["'none'"], "frame-ancestors": ["'self'"]}}
    with override_settings(
        CONTENT_SECURITY_POLICY=policy,
        CONTENT_SECURITY_POLICY_REPORT_ONLY={
            "DIRECTIVES": {"default-src": ["'self'"]},
            "EXCLUDE_URL_PREFIXES": ["/api/"],
        },
    ):
        ours, theirs = _both()
        assert ours[:2] == theirs[:2]
        assert set(ours[0].split("; ")) == {
            "default-src 'none'",
            "frame-ancestors 'self'",
        }
        assert ours[1] == "default-src 'self'"
        api_ours, api_theirs = _both(path="/api/v1/patients/")
        assert api_ours[:2] == api_theirs[:2]
        assert api_ours[1] is None
    assert "default-src 'self'" in _both()[0][0]


def test_a_per_response_policy_and_an_exempt_response_are_honoured():
    def updated():
        response = HttpResponse()
        response._csp_update = {"img-src": ["https://cdn.example.test"]}
        return response

    def exempt():
        response = HttpResponse()
        response._csp_exempt = True
        return response

    ours, theirs = _both(updated)
    assert ours[:2] == theirs[:2]
    assert "https://cdn.example.test" in ours[0]
    assert _both(exempt)[0][0] is None


def test_a_nonce_read_during_the_request_goes_where_the_policy_asks_for_it():
    from csp.constants import NONCE

    headers = []
    policy = {"DIRECTIVES": {"default-src": ["'self'"], "script-src": [NONCE]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        for middleware in (CSPMiddleware, DjangoCSPMiddleware):
            request = RequestFactory().get("/")
            csp = middleware(lambda r: HttpResponse())
            csp.process_request(request)
            nonce = str(request.csp_nonce)
            response = csp.process_response(request, HttpResponse())
            headers.append(set(response[HEADER].replace(nonce, "N").split("; ")))
    assert headers[0] == headers[1] == {"default-src 'self'", "script-src 'nonce-N'"}
