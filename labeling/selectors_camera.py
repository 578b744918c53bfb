"""Reads for the camera pages: how many pictures each class has (its accepted tags)."""

from django.db.models import Count, Q

from .models import Annotation, Project


def capture_counts(*, project: Project) -> dict[int, int]:
    """Accepted tags per class id (every class present, 0 when it has none), as the Capture page counts."""
    accepted_tags = Q(annotations__kind=Annotation.Kind.TAG, annotations__state=Annotation.State.ACCEPTED)
    rows = project.label_classes.annotate(n=Count("annotations", filter=accepted_tags)).values_list("id", "n")
    return dict(rows)
