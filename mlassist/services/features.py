"""Features once per image: the frozen backbone's pooled vector and spatial map, stored."""

from pathlib import Path

from django.conf import settings

from labeling.models import Image

from ..ml.config import BackboneConfig
from ..models import ImageFeatures


def backbone_config() -> BackboneConfig:
    weights = settings.MLASSIST_BACKBONE_WEIGHTS
    if weights not in ("imagenet", "none") and not Path(weights).is_absolute():
        weights = str(settings.MLASSIST_WEIGHTS_DIR / weights)
    return BackboneConfig(
        name=settings.MLASSIST_BACKBONE,
        input_size=settings.MLASSIST_INPUT_SIZE,
        alpha=settings.MLASSIST_ALPHA,
        weights=weights,
    )


def features_missing(*, project, cfg: BackboneConfig | None = None):
    key = (cfg or backbone_config()).key()
    return project.images.exclude(features__backbone_key=key).order_by("id")


# The worker process's extractor for the configured backbone: building the backbone and tracing its
# forward pass cost seconds per job (tens on a busy host), more than a small upload's images take.
_extractors: dict = {}


def _extractor(cfg: BackboneConfig):
    from ..ml.features import FeatureExtractor

    key = (cfg.key(), settings.MLASSIST_FEATURE_BATCH)
    if key not in _extractors:
        _extractors.clear()  # one backbone at a time: a changed setting replaces it
        _extractors[key] = FeatureExtractor(cfg, batch_size=settings.MLASSIST_FEATURE_BATCH)
    return _extractors[key]


def features_compute(*, project, progress=None, cfg: BackboneConfig | None = None) -> int:
    """Compute and store features for every image of ``project`` that has none for this backbone.

    Idempotent: rows are keyed by (image, backbone key) and skipped when present, so a
    redelivered task only does what is left. Returns how many were computed.
    """
    cfg = cfg or backbone_config()
    todo = list(features_missing(project=project, cfg=cfg))
    if not todo:
        return 0
    extractor = _extractor(cfg)
    done = 0
    batch = settings.MLASSIST_FEATURE_BATCH
    for start in range(0, len(todo), batch * 4):
        chunk = todo[start : start + batch * 4]
        sources = [_read(image) for image in chunk]
        results = extractor.extract(sources, on_error="skip")
        ImageFeatures.objects.bulk_create(
            [
                ImageFeatures(image=image, backbone_key=cfg.key(), blob=features.to_bytes())
                for image, features in zip(chunk, results, strict=True)
                if features is not None
            ],
            ignore_conflicts=True,  # another worker stored the same image's features first
        )
        done += len(chunk)
        if progress:
            progress("features", done, len(todo), 0.0)
    return done


def _read(image: Image) -> bytes | str:
    """The image's path when the storage has one (decoded straight from disk: a chunk of 128 images
    never sits in memory as bytes), else its bytes (S3)."""
    try:
        return image.file.path
    except NotImplementedError:
        with image.file.open("rb") as fh:
            return fh.read()


def features_of(*, image_ids, cfg: BackboneConfig | None = None) -> dict[int, bytes]:
    """Stored feature blobs by image id, for the current backbone."""
    key = (cfg or backbone_config()).key()
    rows = ImageFeatures.objects.filter(image_id__in=list(image_ids), backbone_key=key)
    return {image_id: bytes(blob) for image_id, blob in rows.values_list("image_id", "blob").iterator(chunk_size=1000)}


def features_job(*, job_id) -> None:
    """The job after an upload: compute what is missing, with progress."""
    from labeling.services.jobs import job_progress, job_run

    def work(job):
        def progress(stage, done, total, loss):
            job_progress(job_id=job.pk, progress=0.99 * done / max(total, 1), detail=f"{done}/{total} images")

        return {"images": features_compute(project=job.project, progress=progress)}, ""

    job_run(job_id=job_id, work=work)


def features_request(*, project_id: int) -> None:
    """Queue feature extraction for a project's new images once the upload commits.

    A features job that has not started yet will take these images too, so no second one is queued.
    """
    from labeling.models import Job

    from ..tasks import features_compute_task

    if Job.objects.filter(project_id=project_id, kind="features", state=Job.State.QUEUED).exists():
        return
    job = Job.objects.create(project_id=project_id, kind="features")
    features_compute_task.delay_on_commit(str(job.pk))
