"""A project's MAIA run: the cold start, before anyone has labelled.

Stage 1 (built here) runs as a ``labeling.Job`` of kind ``maia_novelty`` under the usual lease:
novelty detection (``ml/novelty.py``) over every image of the project, storing each image's
*training proposals* as it is done. Stages 2-4 (the grid of proposals, the detector trained on
the selection, the review of its candidates) are listed in the run's answer with their state so
the page and the API show where the run is; stages 3 and 4 are in ``maia_stages.py``.

Training proposals are ordinary proposals, so the review grid, the bulk accept/reject and every
annotation rule apply to them unchanged: Annotation rows with origin "model", state "proposed", no
model version (no trained head made them), the project's class ``object`` (created when missing:
MAIA's proposals are class-agnostic until a person picks a class), kind "mask" where the project
uses masks, else "box". They pass through ``proposal_annotation`` (labeling.rules), as the heads'
proposals do. An accepted one is a label like any other; the rejected ones are MAIA's negatives.

Resuming: the clusters are written into the job's params once computed, and ``done`` after each
image's proposals are stored (in the same transaction as the rows), so a worker that is killed
and replaced starts at the first image not stored, with the same clusters and the same seed.
"""

from __future__ import annotations

import logging

import numpy as np
from django.db import transaction

from labeling.models import Annotation, Image, Job, LabelClass, Project
from labeling.rules import RuleError

from .proposals import proposal_annotation

log = logging.getLogger(__name__)

KIND = "maia_novelty"
OBJECT_CLASS = "object"
# Stage 1's share of its progress bar per step: clustering, the background models, the images.
STEP_SHARES = {"cluster": (0.0, 0.1), "model": (0.1, 0.3), "detect": (0.3, 1.0)}
STAGES = [
    ("novelty", "Novelty detection: training proposals, no labels needed"),
    ("selection", "Pick the real objects among the training proposals in the review grid"),
    ("detector", "Detector trained on the selection: annotation candidates on every image"),
    ("candidates", "Review the candidates: accept, reject, relabel"),
]
STEP_WORDS = {"cluster": "clustering images by appearance", "model": "learning each cluster's background",
              "detect": "finding what stands out"}


def maia_geometry_kind(project: Project) -> str:
    kinds = project.kinds
    if "mask" in kinds:
        return "mask"
    if "box" in kinds:
        return "box"
    raise ValueError("MAIA proposes boxes or masks, and this project uses neither: turn on boxes or masks in Settings.")


def maia_running(*, project: Project) -> Job | None:
    return Job.objects.filter(project=project, kind=KIND, state__in=[Job.State.QUEUED, Job.State.RUNNING]).first()


def maia_start(*, project: Project, user, method: str | None = None) -> Job:
    """Queue a MAIA run (stage 1); ValidationError naming the field when it cannot start."""
    from django.core.exceptions import ValidationError

    from labeling.services.jobs import job_create

    from ..ml.novelty import DEFAULT_METHOD, METHODS
    from ..tasks import maia_novelty_task

    method = method or DEFAULT_METHOD
    if method not in METHODS:
        raise ValidationError({"method": f"Unknown novelty method {method!r}; one of {', '.join(METHODS)}."})
    try:
        maia_geometry_kind(project)
    except ValueError as exc:
        raise ValidationError({"project": str(exc)}) from None
    if not project.images.exists():
        raise ValidationError({"project": "Upload images first: MAIA looks for objects in the project's images."})
    with transaction.atomic():
        # One run at a time: lock the project row so two starts cannot both pass the check.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        if maia_running(project=project) is not None:
            raise ValidationError({"project": "A MAIA run is already under way; wait for it to finish or fail."})
        job = job_create(project=project, kind=KIND, user=user, params={"method": method, "done": 0})
        maia_novelty_task.delay_on_commit(str(job.pk))
    return job


def _object_class(project: Project) -> LabelClass:
    existing = project.label_classes.filter(name=OBJECT_CLASS).first()
    if existing is not None:
        return existing
    from labeling.services.classes import label_class_create

    try:
        return label_class_create(project=project, name=OBJECT_CLASS)
    except Exception:  # a concurrent creation of the same name
        return project.label_classes.get(name=OBJECT_CLASS)


def _load_rgb(image: Image) -> np.ndarray:
    """The stored image as the browser shows it (EXIF orientation applied), RGB uint8."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    with image.file.open("rb") as fh, PILImage.open(fh) as pil:
        pil = ImageOps.exif_transpose(pil)
        return np.asarray(pil.convert("RGB"))


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_api

    rle = mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"rle": {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": rle["counts"].decode("ascii")}}


def proposal_rows(*, image: Image, proposals, label_class: LabelClass, kind: str, kinds) -> list[Annotation]:
    """Stage-1 proposals of one image as unsaved Annotations, each through the annotation rules."""
    rows = []
    for p in proposals:
        if kind == "mask":
            geometry = _rle(p.full_mask(image.height, image.width))
        else:
            geometry = {"x": float(p.x), "y": float(p.y), "w": float(p.w), "h": float(p.h)}
        try:
            rows.append(proposal_annotation(image_id=image.pk, width=image.width, height=image.height,
                                            model_version=None, kind=kind, geometry=geometry,
                                            label_class_id=label_class.pk, score=float(p.score), kinds=kinds))
        except RuleError as exc:
            log.warning("MAIA proposal on image %s left out: %s", image.pk, exc)
    return rows


def maia_proposals(*, project: Project):
    """The training proposals MAIA stored in ``project`` (any state)."""
    return Annotation.objects.filter(image__project=project, origin=Annotation.Origin.MODEL, model_version__isnull=True,
                                     label_class__name=OBJECT_CLASS)


def maia_job(*, job_id) -> None:
    from labeling.services.jobs import job_progress, job_run
    from labeling.services.leases import Lease

    from ..ml import novelty

    def work(job):
        project = job.project
        kind = maia_geometry_kind(project)
        label_class = _object_class(project)
        kinds = project.kinds
        images = list(project.images.order_by("id").only("id", "file", "width", "height"))
        if not images:
            raise ValueError("The project has no images any more.")
        params = dict(job.params)
        cfg = novelty.NoveltyConfig(method=params.get("method") or novelty.DEFAULT_METHOD)
        lease = Lease.of(Job, job.pk)
        ids = [i.pk for i in images]
        resumed = params.get("images") == ids and params.get("clusters") is not None
        if not resumed:  # first attempt, or the images changed since: start over
            params.update(images=ids, clusters=None, done=0)

        def report(step, fraction):
            lo, hi = STEP_SHARES[step]
            done = f" ({round(fraction * len(images))}/{len(images)} images)" if step != "model" else ""
            job_progress(job_id=job.pk, progress=lo + (hi - lo) * fraction,
                         detail=f"Stage 1 of 4, novelty detection: {STEP_WORDS[step]}{done}")

        def keep_params(**fields):
            params.update(fields)
            if lease is not None:
                lease.write(params=params)
            else:
                Job.objects.filter(pk=job.pk).update(params=params)

        if not resumed:
            sigs = []
            for n, image in enumerate(images):
                sigs.append(novelty.image_signature(_load_rgb(image)))
                report("cluster", (n + 1) / len(images))
            clusters = novelty.cluster_images(np.array(sigs), novelty.cluster_count(len(images), cfg.clusters),
                                              seed=cfg.seed).tolist()
            # Proposals of an earlier, unfinished attempt over other images: this run replaces them.
            with transaction.atomic():
                maia_proposals(project=project).filter(state=Annotation.State.PROPOSED).delete()
                keep_params(clusters=clusters, done=0)
        stored = {"count": 0}

        def on_image(i, props):
            image = images[i]
            rows = proposal_rows(image=image, proposals=props, label_class=label_class, kind=kind, kinds=kinds)
            with transaction.atomic():
                # Idempotent per image: a resumed run may redo the image it was killed in.
                maia_proposals(project=project).filter(image=image, state=Annotation.State.PROPOSED).delete()
                Annotation.objects.bulk_create(rows)
                keep_params(done=i + 1)
            stored["count"] += len(rows)

        start = params.get("done", 0) if resumed else 0
        result = novelty.novelty_detect(lambda i: _load_rgb(images[i]), len(images), cfg, progress=report,
                                        on_image=on_image, start=start, clusters=params["clusters"])
        total = maia_proposals(project=project).filter(state=Annotation.State.PROPOSED).count()
        return {"stage": "novelty", "method": cfg.method, "images": len(images), "proposals": total,
                "clusters": len(result.thresholds), "thresholds": [round(t, 6) for t in result.thresholds],
                "resumed_at": start}, ""

    job_run(job_id=job_id, work=work)


def maia_state(*, project: Project) -> dict:
    """The latest run and its four stages, with the training proposals by state."""
    job = Job.objects.filter(project=project, kind=KIND).order_by("-created_at").first()
    counts = {s: 0 for s in Annotation.State.values}
    for state, n in _counts(project):
        counts[state] = n
    novelty_state = "not started" if job is None else job.state
    from .maia_stages import detector_stage

    (detector, review), candidates = detector_stage(project, job)
    later = {"detector": detector, "candidates": review}
    stages = []
    for key, title in STAGES:
        if key == "novelty":
            stages.append({"stage": key, "title": title, "state": novelty_state,
                           "progress": 0.0 if job is None else job.progress})
        elif key == "selection":
            ready = job is not None and job.state == Job.State.SUCCEEDED
            stages.append({"stage": key, "title": title, "state": "open" if ready else "waiting",
                           "progress": _selected_share(counts) if ready else 0.0})
        else:
            stages.append({"stage": key, "title": title, **later[key]})
    object_class = project.label_classes.filter(name=OBJECT_CLASS).values_list("pk", flat=True).first()
    return {"run": job, "stages": stages, "proposals": counts, "candidates": candidates, "object_class": object_class}


def _counts(project):
    from django.db.models import Count

    return maia_proposals(project=project).values_list("state").annotate(n=Count("id")).values_list("state", "n")


def _selected_share(counts: dict) -> float:
    total = sum(counts.values())
    return 0.0 if not total else (counts["accepted"] + counts["rejected"]) / total
