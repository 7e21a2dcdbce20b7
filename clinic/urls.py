from django.urls import path
from django.views.generic import RedirectView

from clinic import views
from clinic.views import documents as document_views
from clinic.views import notes, notifications, tasks
from clinic.views.colours import type_colours_css
from clinic.views.settings import clinic_settings

urlpatterns = [
    path("", views.home, name="home"),
    path("patients/", views.patient_list, name="patient-list"),
    path("patients/new/", views.patient_create, name="patient-create"),
    path(
        "patients/workflow-fields/",
        views.patient_workflow_fields,
        name="patient-workflow-fields",
    ),
    path("patients/<int:pk>/", views.patient_detail, name="patient-detail"),
    path("patients/<int:pk>/edit/", views.patient_edit, name="patient-edit"),
    path("patients/<int:pk>/archive/", views.patient_archive, name="patient-archive"),
    path("settings/", clinic_settings, name="clinic-settings"),
    path(
        "patients/<int:pk>/documents/",
        document_views.patient_documents,
        name="patient-documents",
    ),
    path(
        "patients/<int:pk>/documents/upload/",
        document_views.patient_document_upload,
        name="patient-document-upload",
    ),
    path("documents/<int:pk>/", document_views.document_detail, name="document-detail"),
    path(
        "documents/<int:pk>/preview/",
        document_views.document_preview,
        name="document-preview",
    ),
    path(
        "documents/<int:pk>/download/",
        document_views.document_download,
        name="document-download",
    ),
    path(
        "documents/<int:pk>/policy/",
        document_views.document_policy,
        name="document-policy",
    ),
    path(
        "documents/<int:pk>/retry/",
        document_views.document_retry_view,
        name="document-retry",
    ),
    path(
        "schedule/",
        RedirectView.as_view(pattern_name="schedule-day", query_string=True),
    ),
    path("schedule/type-colours.css", type_colours_css, name="schedule-type-colours"),
    path("schedule/day/", views.schedule_day, name="schedule-day"),
    path("schedule/week/", views.schedule_week, name="schedule-week"),
    path("schedule/book/", views.schedule_book, name="schedule-book"),
    path("schedule/patients/", views.schedule_patients, name="schedule-patients"),
    path("appointments/<int:pk>/", views.appointment_panel, name="appointment-panel"),
    path(
        "appointments/<int:pk>/<slug:action>/",
        views.appointment_action,
        name="appointment-action",
    ),
    path("today/", views.today, name="today"),
    path("today/<int:pk>/check-in/", views.today_check_in, name="today-check-in"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/<int:pk>/remove/", views.waitlist_remove, name="waitlist-remove"),
    path("waitlist/<int:pk>/book/", views.waitlist_book, name="waitlist-book"),
    path("audit/", views.audit_list, name="audit-list"),
    path("audit/export.csv", views.audit_export, name="audit-export"),
    # Tasks, clinical notes and notifications (records).
    path("tasks/", tasks.task_list_page, name="task-list"),
    path("tasks/mine/", tasks.task_mine, name="task-mine"),
    path("tasks/new/", tasks.task_new, name="task-new"),
    path("tasks/<int:pk>/", tasks.task_detail_page, name="task-detail"),
    path("tasks/<int:pk>/<slug:action>/", tasks.task_action, name="task-action"),
    path("notes/visit/<int:pk>/", notes.appointment_note, name="appointment-note"),
    path("notes/<int:pk>/", notes.note_detail, name="note-detail"),
    path("notes/<int:pk>/edit/", notes.note_edit, name="note-edit"),
    path("notes/<int:pk>/<slug:action>/", notes.note_action, name="note-action"),
    path("patients/<int:pk>/notes/", notes.patient_notes, name="patient-notes"),
    path("notifications/", notifications.notification_list, name="notification-list"),
    path(
        "notifications/badge/",
        notifications.notification_badge,
        name="notification-badge",
    ),
    path(
        "notifications/read-all/",
        notifications.notification_read_all,
        name="notification-read-all",
    ),
    path(
        "notifications/preferences/",
        notifications.notification_preferences,
        name="notification-preferences",
    ),
    path(
        "notifications/<int:pk>/read/",
        notifications.notification_read,
        name="notification-read",
    ),
]
