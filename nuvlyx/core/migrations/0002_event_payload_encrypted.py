from django.db import migrations, models


class Migration(migrations.Migration):
    """Event payloads are encrypted at rest (order events carry license credentials)."""

    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RemoveField(model_name="event", name="payload"),
        migrations.AddField(
            model_name="event",
            name="payload_encrypted",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
    ]
