"""MAIA stages 3 and 4 on top of stage 1's training proposals (mlassist/services/maia.py).

Stage 2 is the review grid on class "object": people accept the real objects (optionally giving them
a class right there) and reject the rest. Stage 3 ("Train the detector on the selection") makes every
training proposal nobody picked a negative (rejected, as MAIA treats the unselected ones) and
requests an ordinary training run: the accepted proposals are labels like any other, so the box or
mask head trains on them plus every accepted annotation, and the run proposes on every image. Those
proposals are stage 4's annotation candidates, reviewed in the same grid one class at a time; every
accept then feeds the ordinary retraining loop. Nothing here is a second learning loop.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from labeling.models import Annotation, Job, Project
from labeling.services.review import annotation_bulk_update

from ..models import ModelVersion, TrainingRun
from .datasets import MIN_IMAGES
from .maia import KIND, maia_geometry_kind, maia_proposals

HEAD_OF = {"box": ModelVersion.Kind.DETECTOR, "mask": ModelVersion.Kind.SEGMENTER}


def maia_latest_run(*, project: Project) -> Job | None:
    return Job.objects.filter(project=project, kind=KIND).order_by("-created_at").first()


def maia_detector_start(*, project: Project, user) -> TrainingRun:
    """Stage 3: unpicked training proposals become negatives, then a training run is requested.
    ValidationError (naming what is missing) when stage 1 has not finished or too little was picked."""
    from .training import training_request

    job = maia_latest_run(project=project)
    if job is None or job.state != Job.State.SUCCEEDED:
        raise ValidationError({"maia": "Run novelty detection (stage 1) to the end first: the detector learns "
                                       "from the training proposals picked from it."})
    kind = maia_geometry_kind(project)
    picked_images = (Annotation.objects.filter(image__project=project, kind=kind, state=Annotation.State.ACCEPTED)
                     .values("image_id").distinct().count())
    if picked_images < MIN_IMAGES:
        raise ValidationError({"maia": (
            f"Objects are picked on {picked_images} images; the detector needs accepted {kind}es on at least "
            f"{MIN_IMAGES}. Accept the real objects among the training proposals in the review grid first."
        ).replace("maskes", "masks")})
    with transaction.atomic():
        unpicked = list(maia_proposals(project=project).filter(state=Annotation.State.PROPOSED)
                        .order_by("id").values_list("id", "version"))
        if unpicked:
            annotation_bulk_update(project=project, user=user, ids=[i for i, _ in unpicked],
                                   versions=[v for _, v in unpicked], state=Annotation.State.REJECTED)
        run = training_request(project=project, user=user)
        job.params = {**job.params, "detector_run": run.pk, "negatives": len(unpicked)}
        job.save(update_fields=["params"])
    return run


def detector_stage(project: Project, job: Job | None) -> tuple[dict, dict]:
    """Stages 3 and 4 for ``maia_state``: each {"state", "progress"}, plus the candidates by state."""
    run_id = (job.params or {}).get("detector_run") if job is not None else None
    run = TrainingRun.objects.filter(pk=run_id).first() if run_id else None
    counts = {s: 0 for s in Annotation.State.values}
    if run is None:
        return ({"state": "not started", "progress": 0.0}, {"state": "waiting", "progress": 0.0}), counts
    detector = {"state": run.state, "progress": run.progress}
    kind = maia_geometry_kind(project)
    versions = ModelVersion.objects.filter(project=project, kind=HEAD_OF[kind], training_run_id__gte=run.pk)
    candidates = Annotation.objects.filter(image__project=project, kind=kind, origin=Annotation.Origin.MODEL,
                                           model_version__in=versions)
    for state in counts:
        counts[state] = candidates.filter(state=state).count()
    total = sum(counts.values())
    review = {"state": "open" if counts["proposed"] else ("done" if total else "waiting"),
              "progress": (total - counts["proposed"]) / total if total else 0.0}
    return (detector, review), counts
