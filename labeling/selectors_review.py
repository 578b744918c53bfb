"""Reads of image-level review: an image's notes, its annotations' audit trail, sent-back counts."""

from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .models import Annotation, AnnotationEvent, Image, ImageReviewNote, LabelClass, Project

# An image's trail in the workspace panel: the newest events, enough for a session's history.
MAX_IMAGE_EVENTS = 200


def image_review_notes(*, image: Image) -> QuerySet[ImageReviewNote]:
    return ImageReviewNote.objects.filter(image=image).select_related("author").order_by("-id")


def image_events(*, image: Image, limit: int = MAX_IMAGE_EVENTS) -> list[AnnotationEvent]:
    """The audit trail of every annotation ever on ``image`` (deleted ones included), newest first."""
    rows = (
        AnnotationEvent.objects.filter(project_id=image.project_id, image_id=image.pk)
        .select_related("actor").order_by("-id")[:limit]
    )
    return list(rows)


def images_sent_back(*, project: Project) -> QuerySet[Image]:
    """Images a reviewer sent back that wait for the annotator: the request is open (not reviewed
    since) and the image is not marked done again (then it waits for the reviewer instead)."""
    open_note = ImageReviewNote.objects.filter(
        image=OuterRef("pk"), verdict=ImageReviewNote.Verdict.SENT_BACK, resolved=False
    )
    return project.images.filter(Exists(open_note)).exclude(status__in=[Image.Status.DONE, Image.Status.REVIEWED])


def classes_with_proposals(*, project: Project) -> QuerySet[LabelClass]:
    """The project's classes, each with ``proposed``: how many of its annotations wait for review.

    Counted per class from the (label_class, state, kind) index by a subquery: a join with
    COUNT(...) FILTER read every annotation of the class (a million on a big project).
    """
    waiting = (
        Annotation.objects.filter(label_class=OuterRef("pk"), state=Annotation.State.PROPOSED)
        .order_by().values("label_class").annotate(n=Count("*")).values("n")
    )
    return project.label_classes.order_by("order", "id").annotate(
        proposed=Coalesce(Subquery(waiting, output_field=IntegerField()), 0)
    )
