import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    # Apart from 0002: on PostgreSQL, altering a table in the transaction that just
    # updated its rows can fail with "pending trigger events".
    dependencies = [("accounts", "0002_space_uuid")]

    operations = [
        migrations.AlterField(
            model_name="space",
            name="uuid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
