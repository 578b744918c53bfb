"""Proposals: the serving heads label what no person has settled yet.

A proposal is an Annotation with origin "model", state "proposed", a score and its model
version. An image is proposed for, kind by kind, while it is open (status new or in progress)
and no person has settled that kind on it: a person's own label, or an accepted proposal,
settles it. Finished images (done, reviewed) get none, and a refresh removes the proposals
that such images still hold, so a finished project ends with no stale proposals and an export
with proposals never labels an image twice. Accepted, rejected and human annotations are never
touched. A tag a person rejected on an image is not proposed there again.
"""

import logging
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from labeling.models import Annotation, Image, Project
from labeling.rules import KINDS, RuleError, annotation_check

from ..models import ImageUncertainty, ModelVersion
from .features import backbone_config, features_compute, features_of
from .refine import refine_found

BATCH = 256
logger = logging.getLogger(__name__)
FINISHED = [Image.Status.DONE, Image.Status.REVIEWED]
# The annotation kinds that, once a person settled one on an image, mean a head's kind is done there.
SETTLED_BY = {"tag": ["tag"], "box": ["box"], "mask": ["mask", "polygon"]}
KIND_OF_HEAD = {"classifier": "tag", "detector": "box", "segmenter": "mask"}
# The project's proposal_threshold at this value means "automatic": each head uses the threshold chosen
# from its own validation (stored with the version). Any other value is the manager's explicit choice
# and applies to every head. (Telling "explicit" apart needs no new column: 0.5 was the only default.)
AUTOMATIC_THRESHOLD = 0.5


def _settled(kind: str):
    """Annotations that settle ``kind`` on an image: a person's, or a proposal a person accepted."""
    return Q(kind__in=SETTLED_BY[kind]) & (Q(origin=Annotation.Origin.HUMAN) | Q(state=Annotation.State.ACCEPTED))


def images_to_propose(*, project: Project, kind: str = "tag", image_ids=None):
    """Open images of ``project`` on which no person has settled ``kind`` yet and nobody works now.

    An image someone has open (claimed from the queue, not stale) keeps its proposals: replacing
    them would pull them from under the person's hands (their accept would find no proposal).
    """
    settled = Annotation.objects.filter(_settled(kind), image=OuterRef("pk"))
    images = project.images.exclude(status__in=FINISHED).exclude(Exists(settled)).exclude(_in_hand())
    return images.filter(pk__in=image_ids) if image_ids else images


def _in_hand() -> Q:
    return Q(claimed_by__isnull=False, claimed_at__gte=timezone.now() - timedelta(minutes=settings.IMAGE_CLAIM_MINUTES))


def threshold_for(version: ModelVersion, project: Project) -> float:
    """The score below which ``version``'s proposals are not stored (see threshold_choice)."""
    return threshold_choice(version, project)[0]


def _valid(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1


def threshold_choice(version: ModelVersion, project: Project) -> tuple[float, str]:
    """The threshold ``version`` proposes at and where it comes from, the most specific first:
    ``override`` (a manager's, for this head: services/thresholds.py), ``project`` (the project's
    proposal_threshold moved from AUTOMATIC_THRESHOLD, for every head), ``automatic`` (chosen from the
    version's validation), ``default`` (a version from before thresholds were chosen)."""
    metrics = version.metrics or {}
    if _valid(metrics.get("threshold_override")):
        return float(metrics["threshold_override"]), "override"
    if abs(project.proposal_threshold - AUTOMATIC_THRESHOLD) > 1e-9:
        return float(project.proposal_threshold), "project"
    if _valid(metrics.get("threshold")):
        return float(metrics["threshold"]), "automatic"
    return AUTOMATIC_THRESHOLD, "default"


def proposals_stale_remove(*, project: Project, image_ids=None) -> int:
    """Delete proposals on finished images and on kinds a person settled; returns how many."""
    removed = 0
    for kind in ("tag", "box", "mask"):
        settled = Annotation.objects.filter(_settled(kind), image=OuterRef("image_id"))
        stale = Annotation.objects.filter(image__project=project, kind=kind, origin=Annotation.Origin.MODEL,
                                          state=Annotation.State.PROPOSED)
        if image_ids:
            stale = stale.filter(image_id__in=image_ids)
        stale = stale.filter(Q(image__status__in=FINISHED) | Q(Exists(settled)))
        removed += stale.delete()[0]
    finished = ImageUncertainty.objects.filter(image__project=project, image__status__in=FINISHED)
    if image_ids:
        finished = finished.filter(image_id__in=image_ids)
    finished.delete()
    return removed


def proposals_refresh(*, project: Project, image_ids=None, progress=None) -> int:
    """Propose with every serving version where a person has not settled its kind; returns proposals stored."""
    from ..ml import predict
    from ..ml.features import stack_pooled, stack_spatial

    with transaction.atomic():
        proposals_stale_remove(project=project, image_ids=image_ids)
    cfg = backbone_config()
    # A head reads the features of the backbone it was trained on: on another backbone's features it
    # would propose nonsense (tags) or fail (boxes, masks). Such a version does not serve; the model
    # page says so and offers a retrain (ModelVersionSerializer.serving_problem).
    serving = [v for v in ModelVersion.objects.filter(project=project, in_service=True)
               if KIND_OF_HEAD[v.kind] in project.kinds and v.backbone_key == cfg.key()]
    if not serving:
        return 0
    features_compute(project=project, cfg=cfg)
    loaded = {v.kind: (v, load_version_head(v)) for v in serving}
    # Per head, the open images that still want its kind.
    wanted = {
        head: set(images_to_propose(project=project, kind=KIND_OF_HEAD[head], image_ids=image_ids)
                  .values_list("id", flat=True))
        for head in loaded
    }
    every = set().union(*wanted.values())
    targets = list(project.images.filter(pk__in=every).order_by("id").values_list("id", "width", "height"))
    rejected = set(Annotation.objects.filter(image__project=project, kind="tag", state=Annotation.State.REJECTED)
                   .values_list("image_id", "label_class_id"))
    stored = 0
    for start in range(0, len(targets), BATCH):
        chunk = targets[start : start + BATCH]
        blobs = features_of(image_ids=[i for i, _, _ in chunk], cfg=cfg)
        chunk = [row for row in chunk if row[0] in blobs]
        if not chunk:
            continue
        rows: list[tuple] = []
        margins: dict[int, tuple[float, ModelVersion]] = {}
        replaced: dict[str, list[int]] = {}
        decoded: dict = {}  # each picture's pixels for refine_found, decoded once for boxes and masks
        if "classifier" in loaded:
            version, model = loaded["classifier"]
            threshold = threshold_for(version, project)
            ids = [i for i, _, _ in chunk if i in wanted["classifier"]]
            replaced["tag"] = ids
            if ids:
                pooled = stack_pooled(blobs[i] for i in ids)
                probs = predict.class_probabilities(model, pooled)
                if not project.multilabel:
                    probs = _without_rejected(probs, ids, version.class_ids, rejected)
                found = predict.tags_from_probabilities(probs, multilabel=project.multilabel, threshold=threshold)
                for image_id, tags in zip(ids, found, strict=True):
                    rows += [_row(image_id, version, "tag", {}, t.class_index, t.score) for t in tags
                             if t.score >= threshold and (image_id, version.class_ids[t.class_index]) not in rejected]
                for image_id, margin in zip(ids, predict.margins(probs), strict=True):
                    margins[image_id] = (float(margin), version)
        for kind, head in (("box", "detector"), ("mask", "segmenter")):
            if head not in loaded:
                continue
            version, model = loaded[head]
            threshold = threshold_for(version, project)
            part = [row for row in chunk if row[0] in wanted[head]]
            replaced[kind] = [i for i, _, _ in part]
            if not part:
                continue
            spatial, _ = stack_spatial(blobs[i] for i, _, _ in part)
            sizes = np.array([[w, h] for _, w, h in part])
            cap = int((version.metrics or {}).get("max_per_image", 100))  # sorted by score: the best are kept
            if head == "detector":
                found = predict.predict_boxes(model, spatial, sizes, len(version.class_ids), threshold=threshold,
                                              max_per_image=cap)
            else:
                found = [items[:cap] for items in predict.predict_masks(model, spatial, sizes, threshold=threshold)]
            pictures = Image.objects.in_bulk([i for i, _, _ in part])
            for (image_id, w, h), items in zip(part, found, strict=True):
                items = refine_found(pictures[image_id], kind, items, decoded)
                if image_id not in margins:
                    # Without a classifier: how far the best detection is from a coin toss (none: unsure).
                    best = max((p.score for p in items), default=0.5)
                    margins[image_id] = (abs(2 * best - 1), version)
                for p in items:
                    geometry = _box(p.bbox, w, h) if kind == "box" else {"rle": p.rle}
                    if geometry:
                        rows.append(_row(image_id, version, kind, geometry, p.class_index, p.score))
        rows = _checked(rows, loaded, {i: (w, h) for i, w, h in chunk}, project.kinds)
        with transaction.atomic():
            # Taken from the queue since this refresh began: left as the person found it.
            busy = set(Image.objects.filter(pk__in=[i for i, _, _ in chunk]).filter(_in_hand())
                       .values_list("id", flat=True))
            if busy:
                rows = [a for a in rows if a.image_id not in busy]
                replaced = {kind: [i for i in ids if i not in busy] for kind, ids in replaced.items()}
                margins = {i: m for i, m in margins.items() if i not in busy}
            for kind, ids in replaced.items():
                # Only our own heads' earlier proposals: MAIA's (no version) and an external model's
                # (bulk predictions) are other sources, replaced only by themselves.
                Annotation.objects.filter(image_id__in=ids, kind=kind, origin=Annotation.Origin.MODEL,
                                          state=Annotation.State.PROPOSED, model_version__isnull=False).exclude(
                    model_version__in=ModelVersion.objects.filter(project=project, metrics__source="external")
                ).delete()
            Annotation.objects.bulk_create(rows, batch_size=2000)
            ImageUncertainty.objects.filter(image_id__in=list(margins)).delete()
            ImageUncertainty.objects.bulk_create(
                ImageUncertainty(image_id=i, margin=min(1.0, max(0.0, m)), model_version=v) for i, (m, v) in margins.items()
            )
        stored += len(rows)
        if progress:
            progress(min(1.0, (start + len(chunk)) / len(targets)))
    return stored


def _without_rejected(probs: np.ndarray, ids, class_ids, rejected) -> np.ndarray:
    """Single-label: a class a person rejected on an image is out, and the others' probabilities are
    renormalised (P(class | not the rejected one)), so the next best answer is proposed in its place."""
    if not rejected:
        return probs
    column = {c: k for k, c in enumerate(class_ids)}
    by_image: dict[int, list[int]] = {}
    for image_id, class_id in rejected:
        if class_id in column:
            by_image.setdefault(image_id, []).append(column[class_id])
    probs = probs.copy()
    for row, image_id in enumerate(ids):
        out = by_image.get(image_id)
        if out:
            probs[row, out] = 0.0
            total = probs[row].sum()
            if total > 0:
                probs[row] /= total
    return probs


def _head_of(kind: str) -> str:
    return {"tag": "classifier", "box": "detector", "mask": "segmenter"}[kind]

def _row(image_id, version, kind, geometry, class_index, score) -> tuple:
    # The head's class index, mapped to the class id by _checked.
    return image_id, version, kind, geometry, class_index, float(min(1.0, max(0.0, score)))

def _checked(raw: list[tuple], loaded: dict, sizes: dict, kinds) -> list[Annotation]:
    """The model's output through the annotation rules; anything they refuse is left out and logged."""
    rows = []
    for image_id, version, kind, geometry, class_index, score in raw:
        width, height = sizes[image_id]
        try:
            rows.append(proposal_annotation(
                image_id=image_id, width=width, height=height, model_version=version, kind=kind, geometry=geometry,
                label_class_id=loaded[_head_of(kind)][0].class_ids[class_index], score=score, kinds=kinds,
            ))
        except RuleError as exc:
            logger.warning("Proposal of version %s for image %s left out: %s", version.pk, image_id, exc)
    return rows

def proposal_annotation(*, image_id: int, width: int, height: int, model_version, kind: str, geometry,
                        label_class_id: int, score: float, kinds=KINDS) -> Annotation:
    """One proposal, unsaved, after the same rules as every other label (labeling.rules).

    Raises RuleError naming the field (``geometry.rle.counts``...). Masks get their stored
    outline here, so the review grid never decodes them.
    """
    checked = annotation_check(kind=kind, geometry=geometry, width=width, height=height, kinds=kinds,
                               origin=Annotation.Origin.MODEL, state=Annotation.State.PROPOSED, score=score)
    return Annotation(image_id=image_id, label_class_id=label_class_id, kind=checked.kind, geometry=checked.geometry,
                      outline=checked.outline, coco_bbox=checked.coco_bbox, coco_area=checked.coco_area,
                      origin=checked.origin, state=checked.state, score=checked.score,
                      model_version=model_version)

def _box(bbox, width, height) -> dict | None:
    """A predicted box kept inside the image (the model's output, not a person's input, is clamped)."""
    x0, y0 = max(0.0, bbox[0]), max(0.0, bbox[1])
    x1, y1 = min(float(width), bbox[0] + bbox[2]), min(float(height), bbox[1] + bbox[3])
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0}

def load_version_head(version: ModelVersion):
    """The Keras head of a stored version (Keras reads .keras files from a path, not a stream)."""
    import os
    import tempfile

    from ..ml import heads

    with version.artifact.open("rb") as fh, tempfile.NamedTemporaryFile(suffix=".keras", delete=False) as tmp:
        tmp.write(fh.read())
    try:
        return heads.load_head(tmp.name)
    finally:
        os.unlink(tmp.name)


def proposals_start(*, project: Project, user, image_ids=None):
    """Queue a proposal job for these images (all without human labels when None)."""
    from labeling.services.jobs import job_create

    from ..tasks import propose_task

    with transaction.atomic():
        job = job_create(project=project, kind="propose", user=user, params={"images": list(image_ids or [])})
        propose_task.delay_on_commit(str(job.pk))
    return job


def proposals_job(*, job_id) -> None:
    from labeling.services.jobs import job_progress, job_run

    def work(job):
        count = proposals_refresh(
            project=job.project, image_ids=job.params.get("images") or None,
            progress=lambda f: job_progress(job_id=job.pk, progress=0.99 * f, detail="Proposing"),
        )
        return {"proposals": count}, ""

    job_run(job_id=job_id, work=work)
