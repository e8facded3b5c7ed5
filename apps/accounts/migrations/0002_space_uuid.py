import uuid

from django.db import migrations, models


def fill(apps, schema_editor):
    """A distinct uuid for every existing space (a callable default gives all one)."""
    Space = apps.get_model("accounts", "Space")
    for pk in Space.objects.values_list("pk", flat=True):
        Space.objects.filter(pk=pk).update(uuid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="space",
            name="uuid",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
