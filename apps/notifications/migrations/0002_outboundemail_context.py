"""Rows keep their template's context and are rendered when delivered.

The rendered parts become ``stored_text`` / ``stored_html`` in the model, on the same
columns (a rename in Django's state only), so rows queued before this migration keep
their bodies and, with a NULL context, are sent exactly as they were queued.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField("outboundemail", "body_text", "stored_text"),
                migrations.RenameField("outboundemail", "body_html", "stored_html"),
                migrations.AlterField(
                    model_name="outboundemail",
                    name="stored_text",
                    field=models.TextField(blank=True, db_column="body_text", verbose_name="text part"),
                ),
                migrations.AlterField(
                    model_name="outboundemail",
                    name="stored_html",
                    field=models.TextField(blank=True, db_column="body_html", verbose_name="HTML part"),
                ),
            ],
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="context",
            field=models.JSONField(blank=True, default=None, null=True),
        ),
    ]
