from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from calls.models import MessageTemplate, ReminderPolicy, ReminderTypePolicy

        # Who changed how the clinic texts its patients, in the clinic's own trail.
        # Texts themselves are their own record (Message, MessageEvent, ConsentEvent).
        for model in (ReminderPolicy, ReminderTypePolicy, MessageTemplate):
            auditlog.register(model)
