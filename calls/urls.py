"""Routes of texting on a clinic's host: Twilio's webhooks and the staff pages."""

from django.urls import path

from calls import views, webhooks

urlpatterns = [
    path("twilio/sms/status/", webhooks.sms_status, name="twilio-sms-status"),
    path("twilio/sms/inbound/", webhooks.sms_inbound, name="twilio-sms-inbound"),
    path("messages/", views.inbox, name="messages-inbox"),
    path(
        "messages/conversations/",
        views.conversation_list,
        name="messages-conversations",
    ),
    path("messages/c/<int:pk>/", views.thread, name="messages-thread"),
    path("messages/c/<int:pk>/settle/", views.settle, name="messages-settle"),
    path("messages/p/<int:patient_pk>/reply/", views.reply, name="messages-reply"),
    path(
        "messages/p/<int:patient_pk>/opt-out/", views.opt_out, name="messages-opt-out"
    ),
    path("messages/unread/", views.unread_badge, name="messages-unread"),
    path("messages/log/", views.message_log, name="messages-log"),
    path("messages/consent.csv", views.consent_export, name="messages-consent-export"),
    path("messages/policy/", views.policy_page, name="messages-policy"),
    path(
        "messages/policy/template/", views.template_save, name="messages-template-save"
    ),
    path(
        "messages/policy/type/<int:pk>/",
        views.type_policy_save,
        name="messages-type-policy",
    ),
    path("messages/policy/preview/", views.preview, name="messages-policy-preview"),
    path(
        "messages/offer/<int:appointment_pk>/",
        views.offer_slot,
        name="messages-offer-slot",
    ),
]
