"""Calendar feed tokens are stored hashed (like invitation tokens).

The addresses phones already subscribed to keep working: each stored token is replaced
by its sha256, which is what the feed looks up. Going back cannot restore the tokens, so
it removes the feed addresses (each partner makes a new one on the calendar page).
"""

import hashlib

from django.db import migrations, models


def hash_tokens(apps, schema_editor):
    CalendarFeed = apps.get_model("rituals", "CalendarFeed")
    for feed in CalendarFeed.objects.only("pk", "token").iterator():
        digest = hashlib.sha256(feed.token.encode()).hexdigest()
        CalendarFeed.objects.filter(pk=feed.pk).update(token_hash=digest)


def forget_feeds(apps, schema_editor):
    apps.get_model("rituals", "CalendarFeed").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("rituals", "0002_schedule_counting_since"),
    ]

    operations = [
        migrations.AddField(
            model_name="calendarfeed",
            name="token_hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(hash_tokens, migrations.RunPython.noop),
        migrations.RemoveField(model_name="calendarfeed", name="token"),
        # Going back, this runs before the old column returns: it cannot be refilled.
        migrations.RunPython(migrations.RunPython.noop, forget_feeds),
        migrations.AlterField(
            model_name="calendarfeed",
            name="token_hash",
            field=models.CharField(max_length=64, unique=True),
        ),
    ]
