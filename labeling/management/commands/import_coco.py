from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from labeling.models import Project
from labeling.services.coco import CocoImportError, coco_import


class Command(BaseCommand):
    help = "Import a COCO instances file (and optionally a zip of its images) into a project; all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int)
        parser.add_argument("coco_file")
        parser.add_argument("--images", help="A zip of the images, matched by file_name.")
        parser.add_argument("--user", help="Who the annotations are recorded as created by.")

    def handle(self, *args, project_id, coco_file, images, user, **options):
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project {project_id}.")
        actor = get_user_model().objects.filter(username=user).first() if user else None
        if user and actor is None:
            raise CommandError(f"No user is called {user!r}.")
        zip_file = None
        try:
            if images:
                from django.core.files import File

                zip_file = File(open(images, "rb"), name=images.rsplit("/", 1)[-1])
            with open(coco_file, "rb") as fp:
                result = coco_import(project=project, user=actor, coco_file=fp, images_zip=zip_file)
        except CocoImportError as exc:
            raise CommandError(f"{coco_file}: {exc.path}: {exc.detail} (nothing was imported)") from None
        except OSError as exc:
            raise CommandError(str(exc)) from None
        finally:
            if zip_file is not None:
                zip_file.close()
        self.stdout.write(
            f"Imported {result['annotations']} annotations on {result['images']} images"
            + (f"; new classes: {', '.join(result['classes_created'])}" if result["classes_created"] else "")
        )
