"""Routes of texting on a clinic's host: Twilio's webhooks and the staff pages."""

from django.urls import path

from calls import views, webhooks, webhooks_voice
from calls.views import board, campaigns

urlpatterns = [
    path("twilio/sms/status/", webhooks.sms_status, name="twilio-sms-status"),
    path("twilio/sms/inbound/", webhooks.sms_inbound, name="twilio-sms-inbound"),
    path(
        "twilio/voice/status/", webhooks_voice.voice_status, name="twilio-voice-status"
    ),
    path("twilio/voice/amd/", webhooks_voice.voice_amd, name="twilio-voice-amd"),
    path("twilio/voice/flow/", webhooks_voice.voice_flow, name="twilio-voice-flow"),
    path(
        "twilio/voice/gather/", webhooks_voice.voice_gather, name="twilio-voice-gather"
    ),
    path(
        "twilio/voice/noinput/",
        webhooks_voice.voice_no_input,
        name="twilio-voice-noinput",
    ),
    path("twilio/voice/dial/", webhooks_voice.voice_dial, name="twilio-voice-dial"),
    path(
        "twilio/voice/incoming/",
        webhooks_voice.voice_incoming,
        name="twilio-voice-incoming",
    ),
    path("calls/", board.call_board, name="calls-board"),
    path("calls/rows/", board.call_rows, name="calls-rows"),
    path("calls/<int:pk>/row/", board.call_row, name="calls-row"),
    path("calls/<int:pk>/hangup/", board.call_hangup_view, name="calls-hangup"),
    path("calls/start/<int:patient_pk>/", board.call_start, name="calls-start"),
    path("calls/campaigns/", campaigns.campaign_list, name="calls-campaigns"),
    path("calls/campaigns/<int:pk>/", campaigns.campaign_detail, name="calls-campaign"),
    path(
        "calls/campaigns/<int:pk>/progress/",
        campaigns.campaign_progress,
        name="calls-campaign-progress",
    ),
    path(
        "calls/campaigns/<int:pk>/<str:action>/",
        campaigns.campaign_action,
        name="calls-campaign-action",
    ),
    path(
        "calls/campaigns/<int:pk>/summary.csv",
        campaigns.campaign_csv,
        name="calls-campaign-csv",
    ),
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
