"""Apply the file retention policy now (the workers' sweeper also does, every PRUNE_EVERY_MINUTES)."""

from django.core.management.base import BaseCommand

from mlassist.services.pruning import files_prune


class Command(BaseCommand):
    help = "Remove old export files, failed imports' uploads, partial files and unserved model files."

    def handle(self, *args, **options):
        removed = files_prune()
        for what, count in removed.items():
            self.stdout.write(f"{what}: {count} removed")
