"""Training runs: requested after every N new labels or on "Train now", one at a time per project,
coalesced, resumable after a killed worker; each trained head becomes a ModelVersion."""

import logging
import os
import tempfile

import numpy as np

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from labeling.models import AnnotationEvent, Project
from labeling.services import leases
from labeling.services.leases import LeaseLost

from ..models import ModelVersion, TrainingRun
from ..selectors import backbone_mismatch
from .datasets import HEAD_OF_KIND, label_set, tag_matrix
from .features import backbone_config, features_compute, features_of

log = logging.getLogger(__name__)
State = TrainingRun.State
# The score each head is shown and promoted by: one that a head predicting nothing (or always the
# commonest class) cannot win. Accuracy could: "0.733" with F1 0 on a multi-label head.
METRIC = {"classifier": "f1_macro", "detector": "map50", "segmenter": "map50"}


def training_request(*, project: Project, user=None, reason: str = TrainingRun.Reason.MANUAL) -> TrainingRun:
    """Queue a run unless one already waits (then that one is the answer: requests coalesce)."""
    from ..tasks import training_run_task

    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(project=project, reason=reason, requested_by=user)
            training_run_task.delay_on_commit(run.pk)
            return run
    except IntegrityError:
        return TrainingRun.objects.get(project=project, state=State.QUEUED)


def training_note_labels(*, project_id: int) -> TrainingRun | None:
    """After people change labels: request a run once ``retrain_every`` new accepted labels arrived.

    This runs after every save, so the common case (a run already waits) costs one query.
    """
    if TrainingRun.objects.filter(project_id=project_id, state=State.QUEUED).exists():
        return None
    project = Project.objects.filter(pk=project_id).only("id", "retrain_every").first()
    if project is None:
        return None
    last = project.training_runs.order_by("-created_at").values_list("created_at", flat=True).first()
    events = AnnotationEvent.objects.filter(project_id=project_id, actor__isnull=False, after__state="accepted")
    if last is not None:
        events = events.filter(at__gt=last)
    if events[: project.retrain_every].count() < project.retrain_every:
        return None
    return training_request(project=project, reason=TrainingRun.Reason.LABELS)


def _claim(run_id) -> TrainingRun | None:
    """queued -> running (or running again after a dead worker) under a lease (``run.lease_owner``).

    None when the run is finished, held by a live worker (a redelivered message), failed for
    using up its attempts, or when another run of the project is running (that one starts this
    one when it ends; the sweeper sends it again if that never happens).
    """
    try:
        with transaction.atomic():
            owner = leases.claim(TrainingRun, run_id)
    except IntegrityError:
        return None
    return TrainingRun.objects.select_related("project").get(pk=run_id) if owner else None


def _report(run, stage, fraction, detail="", epoch=0, epochs=0, loss=None):
    """Progress of the run, only while it is ours (raises LeaseLost when another worker took it)."""
    run.lease.write(
        stage=stage, progress=max(0.0, min(1.0, fraction)), detail=detail[:300], epoch=epoch, epochs=epochs, loss=loss
    )
    leases.fault_injection_pause()


def training_run_execute(*, run_id) -> None:
    """Do one training run: features, every head the project uses, promotion, then proposals."""
    run = _claim(run_id)
    if run is None:
        return
    project = run.project
    lost = False
    with leases.Lease(TrainingRun, run.pk, run.lease_owner) as lease:
        run.lease = lease
        leases.fault_injection_point("training")
        try:
            _execute(run, project)
            lease.finish(state=State.SUCCEEDED, progress=1.0, stage="done", detail=run.notes[:300] or "Done",
                         finished_at=timezone.now())
        except LeaseLost as exc:
            log.warning("training run %s stopped: %s", run.pk, exc)
            lost = True  # the new owner finishes it and starts the next one
        except Exception as exc:
            log.exception("training run %s failed", run.pk)
            try:
                lease.finish(state=State.FAILED, error=f"{exc.__class__.__name__}: {exc}", finished_at=timezone.now())
            except LeaseLost:
                lost = True
        finally:
            if not lost:
                training_run_next(project_id=project.pk)


def training_run_next(*, project_id) -> None:
    """Send the project's waiting run, if any (after a run ended, or a dead run was failed)."""
    waiting = TrainingRun.objects.filter(project_id=project_id, state=State.QUEUED).values_list("pk", flat=True).first()
    if waiting:
        from ..tasks import training_run_task

        training_run_task.delay(waiting)


def _execute(run, project) -> None:
    cfg = backbone_config()
    features_compute(
        project=project, cfg=cfg,
        progress=lambda stage, done, total, loss: _report(run, "features", 0.3 * done / max(total, 1), f"{done}/{total} images"),
    )
    kinds = [k for k in project.kinds if k in HEAD_OF_KIND]
    notes = []
    for n, kind in enumerate(kinds):
        start, width = 0.3 + 0.5 * n / len(kinds), 0.5 / len(kinds)
        note = _train_head(run, project, kind, cfg, start, width)
        if note:
            notes.append(note)
    _report(run, "proposing", 0.8, "Proposing for unlabelled images")
    from .proposals import proposals_refresh

    proposals_refresh(project=project, progress=lambda f: _report(run, "proposing", 0.8 + 0.15 * f))
    from .audit import suspicious_shapes_refresh

    # After proposing: checking boxes and masks trains two more heads, which must not stand between
    # an accept and the new proposals (tags are cross-validated while their head trains).
    for kind in kinds:
        if kind != "tag":
            _report(run, "auditing labels", 0.95, f"Cross-checking accepted {kind} labels")
            suspicious_shapes_refresh(project=project, kind=kind, run=run)
    run.notes = " ".join(notes)
    from .exports import tflite_export_wanted

    tflite_export_wanted(project=project)


def training_runs_sweep(*, now=None) -> dict:
    """The sweeper's part for training runs (see labeling.services.jobs.jobs_sweep)."""
    from ..tasks import training_run_task

    now = now or timezone.now()
    failed = leases.give_up(TrainingRun, Q(), now=now)
    resend = leases.release_for_retry(TrainingRun, Q(), now=now)
    # A waiting run is sent again only if nothing runs in its project under a live lease:
    # otherwise the running one starts it when it ends.
    busy = (TrainingRun.objects.filter(state=State.RUNNING, heartbeat_at__gte=leases.stale_before(now))
            .exclude(lease_owner="").values("project_id"))
    resend += leases.queued_to_resend(TrainingRun, ~Q(project_id__in=busy), now=now)
    for project_id in TrainingRun.objects.filter(pk__in=failed).values_list("project_id", flat=True):
        training_run_next(project_id=project_id)
    for pk in resend:
        training_run_task.delay(pk)
    return {"failed": len(failed), "sent": len(resend)}


def _train_head(run, project, kind, cfg, start, width) -> str:
    """Train one head on a fresh validation draw, save it as a version, and promote it unless the
    serving one is significantly better on the images both held out (see ml/validation.py)."""
    from ..ml import training, validation
    from ..ml.data import multilabel_strata
    from ..ml.features import stack_pooled, stack_spatial
    from .proposals import load_version_head

    labels = label_set(project=project, kind=kind)
    head = HEAD_OF_KIND[kind]
    if labels.problem:
        return labels.problem
    fingerprint = f"{cfg.key()}:{labels.fingerprint}"
    latest = ModelVersion.objects.filter(project=project, kind=head).order_by("-number").first()
    if latest is not None and latest.backbone_key == cfg.key() and latest.metrics.get("labels_fingerprint") == fingerprint:
        # The same labels on the same backbone train the same head again: a new version would only
        # bury the history under copies (and each copy would propose afresh).
        return f"{head}: no label of this kind changed since v{latest.number}; no new version."
    blobs = features_of(image_ids=labels.image_ids, cfg=cfg)
    keep = [i for i, image_id in enumerate(labels.image_ids) if image_id in blobs]
    image_ids = [labels.image_ids[i] for i in keep]
    targets = [labels.targets[i] for i in keep]
    serving = ModelVersion.objects.filter(project=project, kind=head, in_service=True).first()
    comparable = bool(serving and serving.class_ids == labels.class_ids and serving.backbone_key == cfg.key())
    seed = ModelVersion.objects.filter(project=project, kind=head).count() + 1  # a new draw per version

    def progress(stage, epoch, epochs, loss):
        _report(run, stage, start + width * epoch / max(epochs, 1), f"{stage} {epoch}/{epochs}", epoch, epochs, loss)

    n_classes = len(labels.class_ids)
    sizes = None
    if head == "classifier":
        x = stack_pooled(blobs[i] for i in image_ids)
        y = tag_matrix(targets, n_classes, project.multilabel)
        strata = multilabel_strata(y) if project.multilabel else y.tolist()
    else:
        x, sizes = stack_spatial(blobs[i] for i in image_ids)
        strata = [int(np.bincount(np.asarray(t[1], int)).argmax()) if len(t[1]) else -1 for t in targets]
    # The serving version's validation images stay held out: the two versions are compared there.
    position = {image_id: i for i, image_id in enumerate(image_ids)}
    shared = sorted(position[i] for i in serving.validation_images if i in position) if comparable else []
    val_indices = validation.draw_validation(strata, keep=shared, seed=seed)
    serving_model = load_version_head(serving) if comparable else None
    if head == "classifier":
        result = training.train_classifier(x, y, n_classes, multilabel=project.multilabel, val_indices=val_indices,
                                           progress=progress)
        from .audit import suspicious_labels_refresh

        _report(run, "auditing labels", start + width, "Cross-validating accepted tags")
        suspicious_labels_refresh(project=project, run=run, x=x, targets=targets, image_ids=image_ids,
                                  class_ids=labels.class_ids)
    else:
        shapes, classes = [t[0] for t in targets], [t[1] for t in targets]
        trainer = training.train_box_head if head == "detector" else training.train_mask_head
        # Warm start from the serving head when the class set is unchanged: fewer epochs reach as far.
        epochs = settings.MLASSIST_HEAD_EPOCHS
        if serving_model is not None and WARM_START:
            epochs = max(5, int(round(epochs * WARM_EPOCH_SHARE)))
        result = trainer(x, shapes, classes, sizes, n_classes, epochs=epochs, augment_flip=True,
                         val_indices=val_indices, progress=progress,
                         init_from=serving_model if WARM_START else None)
    result.metrics["n_labelled_images"] = len(image_ids)
    if serving is not None and "threshold_override" in serving.metrics:
        # A manager's threshold for this head (services/thresholds.py) stays with its next versions.
        result.metrics["threshold_override"] = serving.metrics["threshold_override"]
    result.metrics["labels_fingerprint"] = fingerprint
    if head != "classifier":
        # Proposals per image at most twice the most objects a person drew on one: more is a flood of
        # weak shapes that each cost a rejection (the review grid's box rounds cost more than drawing).
        result.metrics["max_per_image"] = max(2, 2 * max(len(t[1]) for t in targets))
    version = _save_version(run, project, head, cfg, labels, image_ids, result)
    if serving_model is None or not shared:
        model_version_promote(version=version)
        return ""
    truth = (y if head == "classifier" else targets)
    comparison = _compare(head, result.model, version.metrics, serving_model, serving.metrics, x, truth, sizes,
                          shared, n_classes, project.multilabel, seed)
    comparison["version"] = serving.number
    comparison[METRIC[head]] = _score_of(serving_model, head, x, targets, sizes, shared, project, labels)
    ModelVersion.objects.filter(pk=version.pk).update(metrics={**version.metrics, "compared_with": comparison})
    if not validation.keep_serving(comparison):
        model_version_promote(version=version)
        return ""
    return (f"{head} v{version.number} not promoted: v{serving.number} is better on the {comparison['n']} images "
            f"both held out ({comparison['old']:.3f} vs {comparison['new']:.3f} per image, p = "
            f"{comparison['p_old_better']:.3f}).")


# Box and mask heads start from the serving version's weights when the class set is unchanged, and
# train for this share of the epochs (measured in bench/loop_turn.py: see docs/benchmarks.md).
WARM_START = True
WARM_EPOCH_SHARE = 0.5


def _compare(head, new_model, new_metrics, old_model, old_metrics, x, truth, sizes, rows, n_classes, multilabel,
             seed) -> dict:
    """Paired per-image scores of two versions on the same held-out rows (ml.validation.paired_sign_test)."""
    from ..ml import training, validation

    rows = np.asarray(rows, int)
    part = truth[rows] if head == "classifier" else [truth[i] for i in rows]
    part_sizes = sizes[rows] if sizes is not None else None
    scores = []
    for model, metrics in ((new_model, new_metrics), (old_model, old_metrics)):
        outcomes, n_truth = training.item_outcomes(head, model, x[rows], part, part_sizes, n_classes, multilabel)
        # Single-label tags: top-1 right or wrong, whatever the threshold; others at their own threshold.
        threshold = 0.0 if head == "classifier" and not multilabel else float(metrics.get("threshold", 0.5))
        scores.append(validation.item_scores(outcomes, n_truth, threshold))
    return validation.paired_sign_test(scores[0], scores[1])


def _score_of(model, head, x, targets, sizes, rows, project, labels) -> float | None:
    """The serving version's shown metric (METRIC) on the held-out rows both versions share."""
    from ..ml import training

    va = np.asarray(rows, int)
    if len(va) == 0:
        return None
    n_classes = len(labels.class_ids)
    if head == "classifier":
        y = tag_matrix([targets[i] for i in va], n_classes, project.multilabel)
        metrics = training.evaluate_classifier(model, x[va], y, project.multilabel)
    elif head == "detector":
        metrics = training.evaluate_box_head(model, x[va], [targets[i][0] for i in va], [targets[i][1] for i in va],
                                             sizes[va], n_classes)
    else:
        metrics = training.evaluate_mask_head(model, x[va], [targets[i][0] for i in va], [targets[i][1] for i in va],
                                              sizes[va], n_classes)
    return metrics.get(METRIC[head])


def _save_version(run, project, head, cfg, labels, image_ids, result) -> ModelVersion:
    from ..ml.heads import save_head

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "head.keras")
        save_head(result.model, path)
        with open(path, "rb") as fh:
            data = fh.read()
    with transaction.atomic():
        number = (ModelVersion.objects.select_for_update().filter(project=project, kind=head)
                  .aggregate(n=Max("number"))["n"] or 0) + 1
        version = ModelVersion(
            project=project, kind=head, number=number, training_run=run, backbone_key=cfg.key(),
            labels_used=labels.labels_used, metrics=_plain(result.metrics), class_ids=labels.class_ids,
            validation_images=[image_ids[i] for i in (result.val_indices if result.val_indices is not None else [])],
        )
        version.artifact.save(f"{project.pk}/{head}-v{number}.keras", ContentFile(data), save=False)
        version.save()
    return version


def _plain(metrics: dict) -> dict:
    return {k: (v if isinstance(v, bool) else float(v) if isinstance(v, (int, float)) or hasattr(v, "item") else v)
            for k, v in metrics.items()}


@transaction.atomic
def model_version_promote(*, version: ModelVersion) -> ModelVersion:
    """Put ``version`` in service (also how a user rolls back to an older one)."""
    if version.metrics.get("source") == "external":
        raise ValidationError({"version": (
            f"Version {version.number} holds an external model's pushed predictions; it has no file to serve from."
        )})
    if version.metrics.get("files_removed"):
        raise ValidationError({"version": (
            f"Version {version.number}'s file was removed by the retention policy (only the newest "
            f"{settings.KEEP_MODEL_VERSIONS} versions not in service keep theirs); it cannot serve again."
        )})
    problem = backbone_mismatch(version)
    if problem:
        raise ValidationError({"version": problem})
    ModelVersion.objects.filter(project=version.project, kind=version.kind, in_service=True).exclude(
        pk=version.pk
    ).update(in_service=False)
    ModelVersion.objects.filter(pk=version.pk).update(in_service=True)
    version.in_service = True
    return version
