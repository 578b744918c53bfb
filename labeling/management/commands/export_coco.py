import sys

from django.core.management.base import BaseCommand, CommandError

from labeling.models import Annotation, Project
from labeling.services.coco import coco_export_chunks, tags_csv_chunks


class Command(BaseCommand):
    help = "Write a project's COCO instances JSON (or its tags CSV) to a file or standard output, streamed."

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int)
        parser.add_argument("output", nargs="?", default="-", help="File to write; - for standard output.")
        parser.add_argument("--states", default="accepted", help="Comma-separated: accepted,proposed,rejected")
        parser.add_argument("--mask-format", choices=["rle", "polygon"], default="rle")
        parser.add_argument("--tags-csv", action="store_true", help="Write file_name,labels instead of COCO.")

    def handle(self, *args, project_id, output, states, mask_format, tags_csv, **options):
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project {project_id}.")
        states = [s for s in states.split(",") if s]
        unknown = [s for s in states if s not in Annotation.State.values]
        if unknown:
            raise CommandError(f"Unknown state {unknown[0]!r}; use {', '.join(Annotation.State.values)}.")
        if tags_csv:
            chunks = tags_csv_chunks(project=project, states=states)
        else:
            chunks = coco_export_chunks(project=project, states=states, mask_format=mask_format)
        out = sys.stdout.buffer if output == "-" else open(output, "wb")
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
                self.stderr.write(f"Wrote {output}")
