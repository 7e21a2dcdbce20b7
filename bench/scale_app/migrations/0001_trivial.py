"""What a small schema change costs across every clinic: one table, no data."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("clinic", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE TABLE scale_app_probe"
            " (id bigint PRIMARY KEY, note text NOT NULL DEFAULT '')",
            "DROP TABLE scale_app_probe",
        ),
    ]
