from django.core.management.base import BaseCommand

from apps.notifications.mailbox import local_messages


class Command(BaseCommand):
    help = "List the e-mails in the local mailbox (var/mail/), or show one of them."

    def add_arguments(self, parser):
        parser.add_argument(
            "number", nargs="?", type=int, help="Show this message (1 is the newest)."
        )

    def handle(self, *args, number=None, **options):
        messages = local_messages()
        if not messages:
            self.stdout.write("The local mailbox is empty.")
            return
        if number is None:
            for i, m in enumerate(messages, start=1):
                when = m.date.strftime("%Y-%m-%d %H:%M") if m.date else "?"
                self.stdout.write(f"{i:>3}  {when}  {m.to:<30}  {m.subject}")
            self.stdout.write("\nShow one with: python manage.py mailbox NUMBER")
            return
        if not 1 <= number <= len(messages):
            self.stderr.write(f"There is no message {number}; there are {len(messages)}.")
            raise SystemExit(2)
        m = messages[number - 1]
        self.stdout.write(f"To: {m.to}\nSubject: {m.subject}\n\n{m.text}")
