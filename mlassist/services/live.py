"""Live labelling: camera frames through the served classifier's TFLite file, in the web process.

The interpreter is LiteRT (``ai-edge-litert``), not TensorFlow: a few MB, imported on the first
live frame, so the web process still never imports TensorFlow (tests/mlassist/test_web_process.py).
Frames are prepared exactly as training images are (mlassist.ml.features.load_image: decoded
reduced, EXIF-upright, plain resize to s x s), so live scores are the scores proposals would get.

Why server side rather than in the browser: the browser would need a TFLite runtime (WebAssembly
plus its model loader) served under our CSP, and each new version means downloading the whole
model again (MobileNet: ~9 MB) before a label shows; the server already holds every version.
docs/benchmarks.md (bench/camera.py) has the latency that made this good enough: far under the
100 ms p95 asked at 320x240.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import PIL.Image
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Annotation, Image, LabelClass, Project

from ..models import ModelVersion

# A live frame is a small JPEG (320x240 is ~15 KB); a big one means the page is misused.
LIVE_FRAME_MAX_BYTES = 4 * 1024 * 1024
LIVE_FRAME_MAX_PIXELS = 4096 * 4096
TOP_K = 3
# Interpreters kept in memory, by version id: the one in service and the few just replaced (a page
# that has not polled yet, Keep naming the version it showed).
_CACHE_SIZE = 4


class LiveUnavailable(Exception):
    """No classifier can label frames (none in service, or its TFLite file is missing): the API's 404."""


@dataclass
class LivePrediction:
    version: ModelVersion | None  # None: a project without tags, labelled by its box or mask head only
    labels: list[dict]  # [{"label_class": id or None, "name", "score"}], best first, at most TOP_K
    timing_ms: dict
    # The box and mask heads in service that drew on the frame, and what they found (live_overlays.py).
    overlay: list[ModelVersion] = field(default_factory=list)
    boxes: list[dict] = field(default_factory=list)
    masks: list[dict] = field(default_factory=list)
    note: str = ""  # e.g. that the boxes are coming once their files are built


class _Runner:
    """One version's interpreter; invoke() is serialised (a LiteRT interpreter is not re-entrant)."""

    def __init__(self, model: bytes):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=model, num_threads=min(2, os.cpu_count() or 1))
        self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        self.input_index = inp["index"]
        self.size = int(inp["shape"][1])
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        self.lock = threading.Lock()

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        with self.lock:
            self.interpreter.set_tensor(self.input_index, pixels[None].astype(np.float32))
            self.interpreter.invoke()
            return self.interpreter.get_tensor(self.output_index)[0].copy()


_runners: OrderedDict[tuple[int, str], _Runner] = OrderedDict()
_runners_lock = threading.Lock()


def _runner(version: ModelVersion) -> _Runner:
    key = (version.pk, version.tflite.name)  # a version's file never changes; the name guards against reuse
    with _runners_lock:
        runner = _runners.get(key)
        if runner is not None:
            _runners.move_to_end(key)
            return runner
    if not version.tflite:
        raise LiveUnavailable(_missing_file(version))
    try:
        with version.tflite.open("rb") as fh:
            model = fh.read()
    except FileNotFoundError:
        raise LiveUnavailable(
            f"No TFLite file for version {version.number}: its file is missing from the storage; train again."
        ) from None
    runner = _Runner(model)
    with _runners_lock:
        runner = _runners.setdefault(key, runner)
        _runners.move_to_end(key)
        while len(_runners) > _CACHE_SIZE:
            _runners.popitem(last=False)
    return runner


def _missing_file(version: ModelVersion) -> str:
    """Why a version has no TFLite file, and what happens next. The file is built on demand, after
    training (mlassist/services/exports.py): asking for live labels asks for it too."""
    from .exports import tflite_export_request
    from .features import backbone_config

    if version.metrics.get("files_removed"):
        return (f"No TFLite file for version {version.number}: the retention policy removed its files; "
                "promote a newer version or train again.")
    if version.backbone_key != backbone_config().key():
        return (f"No TFLite file for version {version.number}: it was trained on another backbone than the one "
                "configured now; train again.")
    tflite_export_request(version=version)
    return (f"No TFLite file for version {version.number} yet: it is being built (about 15 s) and the labels "
            "start by themselves.")


# Served versions with their TFLite file, by (id, file): what a version needs to label frames never
# changes once its file is there, so a frame costs no query for it; the project's query
# (selectors_live.live_project) says which version serves and with which file.
_served: OrderedDict[tuple[int, str], ModelVersion] = OrderedDict()


def _served_version(project: Project) -> ModelVersion | None:
    if "served_classifier_id" not in vars(project):  # not fetched by selectors_live.live_project
        return ModelVersion.objects.filter(
            project=project, kind=ModelVersion.Kind.CLASSIFIER, in_service=True).first()
    if project.served_classifier_id is None:
        return None
    key = (project.served_classifier_id, project.served_classifier_file or "")
    with _runners_lock:
        version = _served.get(key)
    if version is None or version.project_id != project.pk:
        version = ModelVersion.objects.filter(pk=key[0], project=project).first()
        if version is not None and version.tflite and version.tflite.name == key[1]:
            with _runners_lock:
                _served[key] = version
                while len(_served) > _CACHE_SIZE:
                    _served.popitem(last=False)
    return version


def live_version(*, project: Project, version_id: int | None = None) -> ModelVersion:
    """The classifier in service, or the one named (any of the project's classifiers), or LiveUnavailable."""
    if version_id is None:
        version = _served_version(project)
        if version is None:
            raise LiveUnavailable(
                "No tag classifier is in service yet: capture or label pictures of each class, then train.")
        return version
    versions = ModelVersion.objects.filter(project=project, kind=ModelVersion.Kind.CLASSIFIER)
    version = versions.filter(pk=version_id).first()
    if version is None:
        raise ValidationError({"model_version": f"No classifier version {version_id} in this project."})
    return version


def _pixels(frame: bytes, size: int) -> np.ndarray:
    from ..ml.features import FeatureInputError, load_image

    if not frame:
        raise ValidationError({"frame": "The frame is empty."})
    if len(frame) > LIVE_FRAME_MAX_BYTES:
        raise ValidationError({"frame": f"The frame has {len(frame)} bytes; the limit is {LIVE_FRAME_MAX_BYTES}."})
    try:
        with PIL.Image.open(io.BytesIO(frame)) as probe:
            if probe.width * probe.height > LIVE_FRAME_MAX_PIXELS:
                raise ValidationError({"frame": (f"The frame is {probe.width}x{probe.height}; "
                                                 f"send at most {LIVE_FRAME_MAX_PIXELS} pixels.")})
        return load_image(frame, size)[0]
    except (PIL.UnidentifiedImageError, FeatureInputError, OSError) as exc:
        raise ValidationError({"frame": f"The frame is not an image this server can read ({exc})."}) from None


def live_predict(*, project: Project, frame: bytes, version_id: int | None = None,
                 overlay_ids: list[int] | None = None) -> LivePrediction:
    """The served classifier's top labels for one frame (or those of the version named), with the
    boxes and masks of the box and mask heads in service (or of those named; [] for none)."""
    from . import live_overlays

    start = time.perf_counter()
    overlay = live_overlays.overlay_versions(project=project, version_ids=overlay_ids)
    try:
        version = live_version(project=project, version_id=version_id)
    except LiveUnavailable:
        if not overlay:
            raise
        version = None
    note = ""
    if overlay:
        usable = live_overlays.usable(overlay)
        parts = live_overlays.overlay_parts(classifier=version, overlay=usable) if usable else None
        if parts is not None:
            return _overlay_predict(project, frame, version, usable, parts, start)
        note = (f"The boxes and masks of version {', '.join(str(v.number) for v in overlay)} are being prepared "
                "(about 15 s) and show by themselves." if usable else
                "The box and mask heads in service were trained on another backbone or lost their files; train again.")
        if version is None:
            raise LiveUnavailable(note)
    runner = _runner(version)
    ready = time.perf_counter()
    pixels = _pixels(frame, runner.size)
    decoded = time.perf_counter()
    scores = runner(pixels)
    done = time.perf_counter()
    names = dict(LabelClass.objects.filter(project=project).values_list("id", "name"))
    labels = _top_labels(version, scores, names)
    timing = {"load": (ready - start) * 1000, "decode": (decoded - ready) * 1000, "infer": (done - decoded) * 1000}
    return LivePrediction(version=version, labels=labels, timing_ms={k: round(v, 2) for k, v in timing.items()},
                          note=note)


def _top_labels(version: ModelVersion, scores: np.ndarray, names: dict) -> list[dict]:
    exported = version.tflite_labels.splitlines()
    labels = []
    for i in np.argsort(-scores)[:TOP_K]:
        class_id = version.class_ids[i] if i < len(version.class_ids) else None
        name = names.get(class_id) or (exported[i] if i < len(exported) else f"output {i}")
        labels.append({"label_class": class_id if class_id in names else None, "name": name,
                       "score": round(float(np.clip(scores[i], 0.0, 1.0)), 4)})
    return labels


def _overlay_predict(project, frame, version, overlay, parts, start) -> LivePrediction:
    """One backbone pass, then the classifier (if any) and the box and mask heads (live_overlays.py)."""
    from . import live_overlays

    ready = time.perf_counter()
    pixels = _pixels(frame, live_overlays.input_size())
    size = _frame_size(frame)
    decoded = time.perf_counter()
    out = live_overlays.overlay_run(project=project, pixels=pixels, frame_size=size, parts=parts,
                                    classifier=version, overlay=overlay)
    done = time.perf_counter()
    names = dict(LabelClass.objects.filter(project=project).values_list("id", "name"))
    labels = _top_labels(version, out.scores, names) if version is not None else []
    # A class deleted since training is left out: nothing could be stored for it.
    boxes = [b for b in out.boxes if b["label_class"] in names]
    masks = [m for m in out.masks if m["label_class"] in names]
    for item in boxes + masks:
        item["name"] = names[item["label_class"]]
    timing = {"load": (ready - start) * 1000, "decode": (decoded - ready) * 1000, "infer": (done - decoded) * 1000}
    return LivePrediction(version=version, labels=labels, timing_ms={k: round(v, 2) for k, v in timing.items()},
                          overlay=overlay, boxes=boxes, masks=masks)


def _frame_size(frame: bytes) -> tuple[int, int]:
    """(width, height) after EXIF rotation: the pixels boxes are given in, as the stored image's."""
    from ..ml.decode import EXIF_ORIENTATION

    with PIL.Image.open(io.BytesIO(frame)) as im:
        w, h = im.size
        turned = im.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
    return (h, w) if turned else (w, h)


def live_frame_store(
    *, project: Project, user, frame: bytes, version_id: int | None, label_class: LabelClass | None = None,
    overlay_ids: list[int] | None = None,
) -> Image:
    """Keep (no class): the frame with the named version's top labels as proposals to review, and the
    boxes and masks of the box and mask versions named (``overlay_ids``: those the page drew).
    Correct (a class): the frame with that class as a person's accepted tag (it counts towards training).

    The version is the one the page showed; the proposals are computed again here from the frame,
    never taken from the browser. Everything is checked before the image is stored, and a label
    refused after it (the image deleted meanwhile) takes the image away again.
    """
    from labeling.services.annotations import annotation_create_many
    from labeling.services.images import image_delete, image_upload

    if "tag" not in project.kinds and (label_class is not None or not overlay_ids):
        raise ValidationError({"project": "This project does not use tags."})
    if label_class is not None:
        if label_class.project_id != project.pk:
            raise ValidationError({"label_class": f"No class {label_class.pk} in this project."})
        version = live_version(project=project, version_id=version_id)
        _pixels(frame, 32)  # an unreadable frame is refused before anything is stored
        items = [{"label_class": label_class.pk, "kind": "tag", "geometry": {}}]
    else:
        prediction = live_predict(project=project, frame=frame, version_id=version_id,
                                  overlay_ids=overlay_ids or [])
        version = prediction.version
        if overlay_ids and not prediction.overlay:  # the named heads' files are not built (yet)
            raise LiveUnavailable(prediction.note)
        proposal = {"origin": Annotation.Origin.MODEL, "state": Annotation.State.PROPOSED}
        items = [
            {**proposal, "label_class": label["label_class"], "kind": "tag", "geometry": {}, "score": label["score"],
             "model_version": version}
            for label in prediction.labels if label["label_class"] is not None and "tag" in project.kinds
        ]
        items += [{**proposal, "label_class": b["label_class"], "kind": "box", "score": b["score"],
                   "geometry": {k: b[k] for k in "xywh"}, "model_version": b["version"]} for b in prediction.boxes]
        items += [{**proposal, "label_class": m["label_class"], "kind": "mask", "score": m["score"],
                   "geometry": {"rle": m["rle"]}, "model_version": m["version"]} for m in prediction.masks]
        if not items:
            raise ValidationError({"frame": "The model found nothing on this frame to keep."})
    number = version.number if version is not None else prediction.overlay[0].number
    name = f"live-v{number}-{int(time.time() * 1000)}.jpg"
    upload = image_upload(project=project, user=user, files=[SimpleUploadedFile(name, frame)])
    if upload.created:
        image, new = upload.created[0], True
    else:
        same = upload.errors[0].get("image") if upload.errors else None
        if label_class is None or same is None:
            raise ValidationError({"frame": upload.errors[0]["detail"] if upload.errors else "The frame was not stored."})
        # Correct on a picture the project already holds (typically the frame just kept, when the
        # camera had not moved): the person's class is for that picture, so it goes on it.
        image, new = Image.objects.get(pk=same, project=project), False
        if image.annotations.filter(kind="tag", state=Annotation.State.ACCEPTED, label_class=label_class).exists():
            return image
    try:
        annotation_create_many(image=image, user=user, items=items)
    except (ValidationError, Image.DoesNotExist):
        if new:
            try:
                image_delete(image=image)
            except Image.DoesNotExist:
                pass
        raise
    return image
