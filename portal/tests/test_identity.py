import re
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from conftest import PASSWORD
from portal.errors import ApplicationError
from portal.models import SecurityEvent, User
from portal.services import user_set_password
from portal.signin import BAD_CREDENTIALS, signin_authenticate, signin_limits_clear


def _sign_in(client, email, password):
    return client.post("/account/sign-in/", {"email": email, "password": password})


def _kinds(clinic):
    return list(
        SecurityEvent.objects.filter(clinic=clinic).values_list("kind", flat=True)
    )


def test_sign_in_and_sign_out_are_recorded(anon_client, clinic, staff_user):
    response = _sign_in(anon_client, staff_user.email, PASSWORD)
    assert response.status_code == 302
    assert anon_client.get("/patients/").status_code in (200, 302)
    anon_client.post("/account/sign-out/")
    assert anon_client.get("/").status_code == 302
    kinds = _kinds(clinic)
    assert SecurityEvent.Kind.SIGN_IN in kinds
    assert SecurityEvent.Kind.SIGN_OUT in kinds


def test_wrong_password_is_refused_and_recorded(anon_client, clinic, staff_user):
    response = _sign_in(anon_client, staff_user.email, "not-the-password!")
    assert response.status_code == 400
    assert "_auth_user_id" not in anon_client.session
    assert SecurityEvent.Kind.SIGN_IN_FAILED in _kinds(clinic)


def test_five_failures_pause_sign_in_at_this_clinic_until_the_lock_expires(
    anon_client, clinic, staff_user
):
    for _ in range(5):
        _sign_in(anon_client, staff_user.email, "wrong-password-123")
    assert SecurityEvent.Kind.LOCKED_OUT in _kinds(clinic)

    response = _sign_in(anon_client, staff_user.email, PASSWORD)
    assert response.status_code == 400
    assert BAD_CREDENTIALS in response.content.decode()
    assert "_auth_user_id" not in anon_client.session

    signin_limits_clear()  # what the lock's fifteen minutes do
    assert _sign_in(anon_client, staff_user.email, PASSWORD).status_code == 302


def test_a_member_of_another_clinic_cannot_sign_in_here(
    anon_client, clinic, other_staff_user
):
    response = _sign_in(anon_client, other_staff_user.email, PASSWORD)
    assert response.status_code == 400
    assert BAD_CREDENTIALS in response.content.decode()
    event = SecurityEvent.objects.get(clinic=clinic)
    assert (event.kind, event.user, event.email) == (
        SecurityEvent.Kind.SIGN_IN_FAILED,
        None,
        other_staff_user.email,
    )


def test_unknown_email_fails_like_a_wrong_password(clinic, rf):
    request = rf.post("/account/sign-in/", REMOTE_ADDR="127.0.0.1")
    request.tenant = clinic
    with pytest.raises(ApplicationError) as exc:
        signin_authenticate(
            request=request,
            email="nobody@x.test",
            password="whatever-123456",
            clinic=clinic,
        )
    assert (exc.value.status, exc.value.message) == (401, BAD_CREDENTIALS)


def test_passwords_need_twelve_characters(staff_user):
    with pytest.raises(ValidationError):
        user_set_password(user=staff_user, password="Short-pw-1")


def test_the_last_five_passwords_cannot_be_reused(staff_user):
    passwords = [f"rotation-password-{n}-xyz" for n in range(6)]
    for password in passwords:
        user_set_password(user=staff_user, password=password)
    for recent in passwords[1:]:
        with pytest.raises(ValidationError, match="last 5"):
            user_set_password(user=staff_user, password=recent)
    user_set_password(user=staff_user, password=passwords[0])


def test_an_expired_password_must_be_changed_before_working(
    anon_client, clinic, staff_user
):
    User.objects.filter(pk=staff_user.pk).update(
        password_changed_at=timezone.now()
        - timedelta(days=clinic.password_expiry_days + 1)
    )
    response = _sign_in(anon_client, staff_user.email, PASSWORD)
    assert response["Location"] == "/account/password/change/"
    assert anon_client.get("/patients/")["Location"] == "/account/password/change/"

    response = anon_client.post(
        "/account/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-brand-new-password-7",
            "new_password2": "a-brand-new-password-7",
        },
    )
    assert response.status_code == 302
    assert anon_client.get("/patients/").status_code == 200


def _reset_link(anon_client, email, on_commit) -> str:
    mail.outbox.clear()
    with on_commit(execute=True):
        response = anon_client.post("/account/password/reset/", {"email": email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    return re.search(
        r"https?://[^/\s]+(/account/password/reset/\S+/)", mail.outbox[0].body
    ).group(1)


def test_reset_link_works_once(
    anon_client, clinic, staff_user, eager_celery, django_capture_on_commit_callbacks
):
    link = _reset_link(
        anon_client, staff_user.email, django_capture_on_commit_callbacks
    )
    form_url = anon_client.get(link)["Location"]
    new = "reset-password-123456"
    response = anon_client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    staff_user.refresh_from_db()
    assert staff_user.check_password(new)
    kinds = _kinds(clinic)
    assert (
        SecurityEvent.Kind.RESET_REQUESTED in kinds
        and SecurityEvent.Kind.RESET_COMPLETED in kinds
    )

    again = anon_client.get(link, follow=True)
    assert again.context["validlink"] is False


def test_reset_link_expires_after_an_hour(anon_client, staff_user):
    generator = default_token_generator
    an_hour_ago = generator._num_seconds(generator._now()) - 3601
    token = generator._make_token_with_timestamp(
        staff_user, an_hour_ago, generator.secret
    )
    uid = urlsafe_base64_encode(force_bytes(staff_user.pk))
    response = anon_client.get(f"/account/password/reset/{uid}/{token}/", follow=True)
    assert response.context["validlink"] is False


def test_reset_is_not_sent_for_a_user_of_another_clinic(
    anon_client, other_staff_user, eager_celery, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        anon_client.post("/account/password/reset/", {"email": other_staff_user.email})
    assert len(callbacks) == 1  # the same work is enqueued as for a member
    assert mail.outbox == []


def test_security_events_page_is_for_clinic_admins_only(
    anon_client, staff_client, admin_client_alpha, staff_user
):
    _sign_in(anon_client, staff_user.email, "wrong-password-123")
    assert staff_client.get("/account/security/").status_code == 403
    response = admin_client_alpha.get("/account/security/")
    assert response.status_code == 200
    assert staff_user.email.encode() in response.content
