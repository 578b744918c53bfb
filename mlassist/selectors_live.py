"""Reading what one live frame needs, in one query: the project, the user's role, the served classifier.

The Live page sends up to 15 frames a second per viewer. labeling.selectors.project_list (what
ProjectScoped uses) counts the project's images for the project pages: a scan that grows with the
project, done for every frame. Here the project comes with the user's role (so the permission
check asks nothing more) and the id of the classifier in service (so a promoted version is seen
from the next frame without another query).
"""

from __future__ import annotations

from django.db.models import OuterRef, Subquery

from labeling.models import Membership, Project
from labeling.permissions import remember_role, visible_projects

from .models import ModelVersion


def live_project(*, user, project_id: int) -> Project:
    """The project (Project.DoesNotExist for ids the user cannot see), with ``served_classifier_id`` and
    ``served_classifier_file`` (its TFLite file's name; None when no classifier is in service), and the
    user's role noted for labeling.permissions."""
    served = ModelVersion.objects.filter(project=OuterRef("pk"), kind=ModelVersion.Kind.CLASSIFIER, in_service=True)
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    project = visible_projects(user).annotate(
        served_classifier_id=Subquery(served.values("pk")[:1]),
        served_classifier_file=Subquery(served.values("tflite")[:1]),
        live_role=Subquery(role),
    ).get(pk=project_id)
    remember_role(user, project, project.live_role)
    return project
