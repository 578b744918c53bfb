"""Loop turn: 50 accepts -> retrained heads -> new proposals for 1,000 images, timed on this machine.

    .venv/bin/python -m bench.loop_turn [--images 1000] [--kinds tag,box,mask]

In-process on a fresh database (PostgreSQL when reachable, else SQLite), the product's own
services, the offline random-initialised backbone. Features of every image are computed once
first (an upload does that in the product before anyone labels); then:

1. seed: SEED images labelled by hand, one training run: "first model" seconds;
2. 50 of its proposals accepted (right ones, as a person would), one training run: the "turn",
   from the run's start to its end (heads trained, proposals for every open image stored);
3. the same labels trained again with box/mask heads from scratch (warm start off), to measure both
   (each version draws its own validation images, so mAP differences of a few points are noise);
4. the TFLite build that used to sit inside every tag retrain, timed alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20


def setup() -> str:
    sys.path.insert(0, str(ROOT))
    from bench._server import _fresh_postgres

    var = Path(tempfile.mkdtemp(prefix="annotator-loop-"))
    database = _fresh_postgres() or f"sqlite:///{var / 'loop.sqlite3'}"
    os.environ.update({"ANNOTATOR_VAR_DIR": str(var), "DATABASE_URL": database,
                       "DJANGO_SETTINGS_MODULE": "annotator.settings", "LOG_LEVEL": "WARNING",
                       "CELERY_TASK_ALWAYS_EAGER": "false", "MLASSIST_BACKBONE_WEIGHTS": "none",
                       "MLASSIST_INPUT_SIZE": os.environ.get("MLASSIST_INPUT_SIZE", "128"),
                       "MLASSIST_ALPHA": os.environ.get("MLASSIST_ALPHA", "0.35")})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return "PostgreSQL" if database.startswith("postgres") else "SQLite"


def run_once(project):
    """One training run in this process, as the worker does it; returns (seconds, run)."""
    from unittest import mock

    from mlassist.models import TrainingRun
    from mlassist.services import training

    run = TrainingRun.objects.create(project=project)
    t0 = time.perf_counter()
    with mock.patch("mlassist.services.exports.tflite_export_request"):  # the product queues it; timed apart
        training.training_run_execute(run_id=run.pk)
    seconds = time.perf_counter() - t0
    run.refresh_from_db()
    assert run.state == "succeeded", run.error
    return seconds, run


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--kinds", default="tag,box,mask")
    args = ap.parse_args(argv)
    db = setup()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bench._server import machine
    from bench.effort import box_iou, make_dataset, rle_of
    from labeling.models import Annotation
    from labeling.services.annotations import annotation_create, annotation_update
    from labeling.services.images import image_upload
    from labeling.services.projects import label_class_create, project_create
    from mlassist.models import ModelVersion
    from mlassist.services import training
    from mlassist.services.exports import tflite_export
    from mlassist.services.features import features_compute

    print(f"# {machine()}; database {db}; backbone mobilenet_v2 {os.environ['MLASSIST_INPUT_SIZE']} px "
          f"alpha {os.environ['MLASSIST_ALPHA']}, random weights")
    user = get_user_model().objects.create_user("loop", password="loop-password-1", is_staff=True)
    items = make_dataset(args.images, seed=11)
    for kind in args.kinds.split(","):
        project = project_create(user=user, name=f"loop {kind}", kinds=[kind], retrain_every=100000)
        classes = [label_class_create(project=project, name=n).pk for n in ("square", "circle", "triangle")]
        images = []
        for start in range(0, len(items), 100):
            chunk = items[start : start + 100]
            images += image_upload(project=project, user=user,
                                   files=[SimpleUploadedFile(it.name, it.png) for it in chunk]).created
        truth = {im.pk: it for im, it in zip(images, items, strict=True)}
        t0 = time.perf_counter()
        features_compute(project=project)
        t_features = time.perf_counter() - t0

        def geometry(it):
            return {} if kind == "tag" else dict(zip("xywh", it.box)) if kind == "box" else {"rle": rle_of(it.mask)}

        for im in images[:SEED]:
            it = truth[im.pk]
            annotation_create(image=im, user=user, data={"label_class": classes[it.cls], "kind": kind,
                                                         "geometry": geometry(it)})
        first, _ = run_once(project)

        def accept_50():
            accepted = 0
            for row in Annotation.objects.filter(image__project=project, state="proposed").order_by("-score"):
                it = truth[row.image_id]
                ok = row.label_class_id == classes[it.cls] and (
                    kind == "tag" or kind == "mask" or box_iou([row.geometry[k] for k in "xywh"], it.box) >= 0.5)
                if ok and not Annotation.objects.filter(image_id=row.image_id, state="accepted", kind=kind).exists():
                    annotation_update(annotation=row, user=user, version=row.version, changes={"state": "accepted"})
                    accepted += 1
                    if accepted == 50:
                        break
            return accepted

        n1 = accept_50()
        turn, run = run_once(project)
        open_count = project.images.count() - SEED - n1
        line = {"kind": kind, "images": len(images), "features_s": round(t_features, 1), "first_model_s": round(first, 1),
                "accepted": n1, "turn_s": round(turn, 1), "open_images": open_count,
                "proposals": Annotation.objects.filter(image__project=project, state="proposed").count()}
        head = {"tag": "classifier", "box": "detector", "mask": "segmenter"}[kind]
        if kind != "tag":
            served = ModelVersion.objects.filter(project=project, kind=head).order_by("-number").first()
            line["warm"] = {"map50": served.metrics.get("map50"), "warm_start": served.metrics.get("warm_start")}
            training.WARM_START = False  # the same labels again, heads from scratch
            cold, _ = run_once(project)
            training.WARM_START = True
            cold_version = ModelVersion.objects.filter(project=project, kind=head).order_by("-number").first()
            line["cold"] = {"turn_s": round(cold, 1), "map50": cold_version.metrics.get("map50")}
        else:
            version = ModelVersion.objects.get(project=project, kind=head, in_service=True)
            t0 = time.perf_counter()
            tflite_export(version_id=version.pk)
            line["tflite_s"] = round(time.perf_counter() - t0, 1)
        print(line, flush=True)


if __name__ == "__main__":
    main()
