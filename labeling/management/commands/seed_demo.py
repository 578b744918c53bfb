"""Create the demo project from the sample images scikit-image ships, and an admin user."""

import io
import secrets

import numpy as np
import PIL.Image
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction

from labeling.models import Project
from labeling.services.images import image_upload
from labeling.services.projects import label_class_create, project_create

SAMPLES = ["astronaut", "coffee", "chelsea", "rocket", "cat", "hubble_deep_field", "immunohistochemistry", "motorcycle_left"]


def _sample_jpegs():
    from skimage import data  # ships its sample images inside the package

    for name in SAMPLES:
        loader = getattr(data, name, None)
        if loader is None:
            continue
        try:
            pixels = loader()
        except Exception:  # some samples are fetched on demand, which fails without network
            continue
        if pixels.ndim == 2:
            pixels = np.stack([pixels] * 3, axis=-1)
        out = io.BytesIO()
        PIL.Image.fromarray(pixels[..., :3].astype(np.uint8)).save(out, "JPEG", quality=90)
        yield SimpleUploadedFile(f"{name}.jpg", out.getvalue(), content_type="image/jpeg")


class Command(BaseCommand):
    help = "Create an admin user (password printed once) and a demo project, unless they exist."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=username, password=password, email="")
            self.stdout.write(self.style.SUCCESS(f"Admin user: {username}   password: {password}   (shown once)"))
        else:
            self.stdout.write(f"Admin user {username!r} exists; its password is unchanged.")
        if Project.objects.filter(name="Demo").exists():
            return
        with transaction.atomic():
            project = project_create(
                user=user, name="Demo", kinds=["tag", "box", "polygon", "mask"],
                description="Sample images shipped with scikit-image.",
            )
            for name in ["person", "animal", "object"]:
                label_class_create(project=project, name=name)
        result = image_upload(project=project, user=user, files=list(_sample_jpegs()))
        self.stdout.write(f"Demo project: {len(result.created)} images.")
