from django.core.management.base import BaseCommand, CommandError

from audit.services import ledger_verify


class Command(BaseCommand):
    help = "Check the whole audit ledger hash chain and name the first broken or missing event."

    def handle(self, *args, **options) -> None:
        report = ledger_verify()
        if not report.ok:
            raise CommandError(f"Ledger broken after {report.checked} good events: {report.error}")
        self.stdout.write(self.style.SUCCESS(f"Ledger intact: {report.checked} events verified."))
