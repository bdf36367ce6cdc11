"""Stored idempotent responses are encrypted: POST /webhooks replays carry the endpoint's secret.

Existing rows (kept 24 h) are encrypted in place, so a retry after the deploy still replays.
"""

from django.db import migrations, models


def encrypt_stored_responses(apps, schema_editor):
    from nuvlyx.core import crypto

    IdempotencyKey = apps.get_model("api", "IdempotencyKey")
    for row in IdempotencyKey.objects.exclude(response_body=None).only("pk", "response_body").iterator():
        body = bytes(row.response_body).decode("utf-8")
        IdempotencyKey.objects.filter(pk=row.pk).update(response_body_encrypted=crypto.encrypt(body))


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="response_body_encrypted",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_stored_responses, migrations.RunPython.noop),
        migrations.RemoveField(model_name="idempotencykey", name="response_body"),
    ]
