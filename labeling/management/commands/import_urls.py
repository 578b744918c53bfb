from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from labeling.models import Project
from labeling.services.url_import import UrlListError, url_import, url_list_parse


class Command(BaseCommand):
    help = "Download the images of a URL list (text: one a line; CSV: first or `url` column) into a project now."

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int)
        parser.add_argument("file", help="The URL list.")
        parser.add_argument("--user", help="Who the images are recorded as uploaded by.")

    def handle(self, *args, project_id, file, user, **options):
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project {project_id}.")
        actor = get_user_model().objects.filter(username=user).first() if user else None
        if user and actor is None:
            raise CommandError(f"No user is called {user!r}.")
        try:
            with open(file, "rb") as fp:
                url_list = url_list_parse(name=file, data=fp.read())
        except UrlListError as exc:
            raise CommandError(f"{file}: " + "; ".join(exc.messages)) from None
        except OSError as exc:
            raise CommandError(str(exc)) from None

        def on_line(done, total, outcome):
            self.stdout.write(f"{done}/{total} downloaded", ending="\n")

        outcomes = url_import(project=project, user=actor, urls=url_list.urls, on_line=on_line)
        refused = sorted(
            [(e["line"], e["url"], e["detail"]) for e in url_list.errors]
            + [(o.line, o.url, o.detail) for o in outcomes if o.outcome != "stored"]
        )
        for line, url, detail in refused:
            self.stderr.write(f"line {line}: {url}: {detail}")
        stored = sum(o.outcome == "stored" for o in outcomes)
        self.stdout.write(f"Stored {stored} images; {len(refused)} lines refused.")
