import io

import factory
import PIL.Image
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Annotation, Image, LabelClass, Membership, Project


def image_bytes(width=64, height=48, fmt="PNG", color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    PIL.Image.new("RGB", (width, height), color).save(out, fmt)
    return out.getvalue()


def upload(name="a.png", data=None, **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(**kwargs) if data is None else data)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-secret-123")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    uses_tags = True
    uses_boxes = True
    uses_polygons = True
    uses_masks = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.ANNOTATOR


class LabelClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LabelClass

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"class{n}")
    color = "#ff0000"
    order = factory.Sequence(lambda n: n)


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Image

    project = factory.SubFactory(ProjectFactory)
    file = factory.django.FileField(filename="img.png", data=image_bytes(100, 80))
    file_name = factory.Sequence(lambda n: f"img{n}.png")
    width = 100
    height = 80
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    size = 100
    format = "PNG"


class AnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Annotation

    image = factory.SubFactory(ImageFactory)
    label_class = factory.SubFactory(LabelClassFactory, project=factory.SelfAttribute("..image.project"))
    kind = "box"
    geometry = {"x": 1, "y": 2, "w": 10, "h": 10}
