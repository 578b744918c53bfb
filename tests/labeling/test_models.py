"""The database itself refuses rows that break the rules, whatever code writes them."""

import pytest
from django.db import IntegrityError, transaction

from labeling.models import Annotation, AnnotationEvent, Image, LabelClass, Project

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def _refused(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_project_must_use_some_kind():
    _refused(lambda: Project.objects.create(name="x"))


def test_class_names_unique_in_project_but_not_across_projects(project):
    LabelClassFactory(project=project, name="cat")
    _refused(lambda: LabelClass.objects.create(project=project, name="cat"))
    LabelClassFactory(project=ProjectFactory(), name="cat")  # another project may reuse it


def test_hotkey_unique_in_project_unless_blank(project):
    LabelClassFactory(project=project, name="a", hotkey="1")
    LabelClassFactory(project=project, name="b", hotkey="")
    LabelClassFactory(project=project, name="c", hotkey="")
    _refused(lambda: LabelClass.objects.create(project=project, name="d", hotkey="1"))


def test_same_image_content_once_per_project(project):
    ImageFactory(project=project, sha256="a" * 64)
    _refused(lambda: ImageFactory(project=project, sha256="a" * 64))


def test_image_size_must_be_positive(project):
    _refused(lambda: ImageFactory(project=project, width=0))


def test_image_status_must_be_known(project):
    _refused(lambda: ImageFactory(project=project, status="lost"))


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "circle"},
        {"state": "maybe"},
        {"origin": "alien"},
        {"score": 1.5},
        {"version": 0},
        {"origin": "human", "state": "proposed"},
    ],
)
def test_annotation_checks(image, fields):
    label_class = LabelClassFactory(project=image.project)
    _refused(lambda: AnnotationFactory(image=image, label_class=label_class, **fields))


def test_one_accepted_tag_per_class_per_image(image):
    label_class = LabelClassFactory(project=image.project)
    AnnotationFactory(image=image, label_class=label_class, kind="tag", geometry={})
    AnnotationFactory(image=image, label_class=label_class, kind="tag", geometry={}, state="rejected")
    _refused(lambda: AnnotationFactory(image=image, label_class=label_class, kind="tag", geometry={}))


def test_class_in_use_cannot_be_deleted(image):
    annotation = AnnotationFactory(image=image)
    with pytest.raises(Exception), transaction.atomic():
        annotation.label_class.delete()
    assert Annotation.objects.filter(pk=annotation.pk).exists()


def test_deleting_an_image_deletes_its_annotations(image):
    AnnotationFactory(image=image)
    image.delete()
    assert not Annotation.objects.exists()
    assert not Image.objects.exists()


def test_events_are_append_only(image):
    event = AnnotationEvent.objects.create(annotation_id=1, project=image.project, image_id=image.pk, action="create")
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
