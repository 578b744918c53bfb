"""A world of real objects for the API fuzzing tests (tests/test_schema_fuzz.py, tests/test_api_audit_cases.py).

The OpenAPI schema is the one ``/api/schema/`` serves; path parameters in it are narrowed to a few
sentinels that ``World.resolve`` turns into real ids at request time: ``-1`` the world's object,
``-3`` a second one of the same kind, ``-2`` one in a project the user is not a member of.
"""

import copy
import json
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.files.base import ContentFile
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from labeling.models import Annotation, Job, Membership
from labeling.services import annotations as annotation_services
from mlassist.models import ModelVersion, TrainingRun

from .factories import (
    AnnotationFactory,
    ImageFactory,
    LabelClassFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)

SAME, OTHER_PROJECT, SECOND = -1, -2, -3
NOWHERE = [0, 2**63]  # ids that exist nowhere; the second is past what a 64-bit column holds
JOB_SENTINELS = {
    "00000000-0000-4000-8000-000000000001": SAME,
    "00000000-0000-4000-8000-000000000002": OTHER_PROJECT,
    "00000000-0000-4000-8000-000000000003": SECOND,
}


def served_schema() -> dict:
    """The document /api/schema/ serves, made by the same generator (a test compares the two)."""
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


def with_sentinels(raw: dict) -> dict:
    raw = copy.deepcopy(raw)
    for path_item in raw["paths"].values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":
                    continue
                if parameter["schema"].get("format") == "uuid":
                    parameter["schema"] = {"type": "string", "format": "uuid",
                                           "enum": [*JOB_SENTINELS, str(uuid.UUID(int=0))]}
                else:
                    parameter["schema"] = {"type": "integer", "enum": [SAME, SECOND, OTHER_PROJECT, *NOWHERE]}
    return raw


class World:
    """A project with members, classes, images, annotations (with their audit trail), jobs, a
    training run and a model version, plus an unrelated project the fuzzing users are not in."""

    def __init__(self, manager):
        self.project = ProjectFactory()
        self.manager = manager
        self.manager_membership = MembershipFactory(project=self.project, user=manager, role=Membership.Role.MANAGER)
        self.annotator_membership = MembershipFactory(project=self.project, role=Membership.Role.ANNOTATOR)
        self.classes = [
            LabelClassFactory(project=self.project, name=name, hotkey=str(i + 1))
            for i, name in enumerate(["cat", "dog", "bird"])
        ]
        self.image = ImageFactory(project=self.project)
        self.blank_image = ImageFactory(project=self.project)
        cat, dog = self.classes[0], self.classes[1]
        self.box = annotation_services.annotation_create(
            image=self.image, user=manager,
            data={"kind": "box", "label_class": cat.pk, "geometry": {"x": 1, "y": 2, "w": 30, "h": 20}},
        )
        annotation_services.annotation_create(
            image=self.image, user=manager, data={"kind": "tag", "label_class": dog.pk, "geometry": {}}
        )
        annotation_services.annotation_create(
            image=self.image, user=manager,
            data={"kind": "polygon", "label_class": dog.pk, "geometry": {"points": [[1, 1], [40, 2], [20, 30]]}},
        )
        self.proposal = AnnotationFactory(
            image=self.image, label_class=dog, origin=Annotation.Origin.MODEL, state=Annotation.State.PROPOSED,
            score=0.7,
        )
        self.export_job = Job.objects.create(
            project=self.project, kind="export_coco", state=Job.State.SUCCEEDED, progress=1, created_by=manager,
            result={"annotations": 3},
        )
        self.export_job.result_file.save("export.json", ContentFile(b'{"images": []}'))
        self.queued_job = Job.objects.create(project=self.project, kind="features", created_by=manager)
        run = TrainingRun.objects.create(project=self.project, state=TrainingRun.State.SUCCEEDED, progress=1)
        self.version = ModelVersion.objects.create(
            project=self.project, kind=ModelVersion.Kind.CLASSIFIER, number=1, training_run=run,
            class_ids=[c.pk for c in self.classes], metrics={"accuracy": 0.5},
        )

        # Somebody else's project: every id in it must answer 404 to the fuzzing users.
        other = ProjectFactory()
        other_image = ImageFactory(project=other)
        self.other = {
            "project": other,
            "image": other_image,
            "class": LabelClassFactory(project=other, name="other"),
            "annotation": AnnotationFactory(image=other_image),
            "membership": MembershipFactory(project=other, role=Membership.Role.MANAGER),
            "version": ModelVersion.objects.create(project=other, kind=ModelVersion.Kind.CLASSIFIER, number=1),
            "job": Job.objects.create(project=other, kind="export_coco"),
        }

    def _objects(self, path: str):
        """(the world's object, a second one, the other project's) for the `id` of this path."""
        o = self.other
        if path.startswith("/api/annotations/"):
            return self.box, self.proposal, o["annotation"]
        if path.startswith("/api/images/"):
            return self.image, self.blank_image, o["image"]
        if path.startswith("/api/jobs/"):
            return self.export_job, self.queued_job, o["job"]
        if "/classes/" in path:
            return self.classes[0], self.classes[2], o["class"]
        if "/members/" in path:
            return self.manager_membership, self.annotator_membership, o["membership"]
        if "/model-versions/" in path:
            return self.version, self.version, o["version"]
        raise AssertionError(f"no objects for the id of {path}")

    def resolve(self, path: str, name: str, value):
        """The real id for a sentinel; anything else is sent as generated."""
        if isinstance(value, str):
            # Coverage cases send path parameters already as text.
            value = JOB_SENTINELS.get(value, int(value) if value in ("-1", "-2", "-3") else value)
        if isinstance(value, bool) or not isinstance(value, int) or value not in (SAME, SECOND, OTHER_PROJECT):
            return value
        if name == "project_id":
            return {SAME: self.project, SECOND: self.project, OTHER_PROJECT: self.other["project"]}[value].pk
        same, second, other = self._objects(path)
        return str({SAME: same, SECOND: second, OTHER_PROJECT: other}[value].pk)


def token(user) -> dict:
    return {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def project_creator(username: str):
    """A user who may create projects (PROJECT_CREATORS=staff_and_granted), as API scripts are."""
    user = UserFactory(username=username)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="labeling", codename="add_project"))
    return user


@pytest.fixture
def fuzz_manager(transactional_db, settings):
    # Thousands of requests from one user in a minute: the API rate (its own tests) would answer 429;
    # and no lock-out left in the cache by an earlier test may answer for the views.
    settings.API_THROTTLE_USER_RATE = None
    cache.clear()
    return project_creator("fuzz-manager")


@pytest.fixture
def world(fuzz_manager):
    return World(fuzz_manager)

