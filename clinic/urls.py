from django.urls import path
from django.views.generic import RedirectView

from clinic import views
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
]
