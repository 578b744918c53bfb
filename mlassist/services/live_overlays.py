"""Live boxes and masks: one backbone pass per frame, then every head in service on its outputs.

When a box or mask head serves, a frame goes through the backbone's own TFLite file (image -> the
normalised pooled vector and spatial map, as stored for training) and then through each version's
head file: the classifier's on the pooled vector, the box and mask heads' on the spatial map
(mlassist/ml/export.py says why the parts are separate files). The raw outputs are decoded with the
same numpy code that makes proposals (mlassist.ml.predict: no TensorFlow), with the version's
threshold and per-image cap. Without box or mask heads live.py runs the classifier's single file.

The parts are built by the worker on demand: until they are there, the page keeps the classifier's
labels (live.py) and says the boxes are coming.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from labeling.models import Project

from ..models import ModelVersion
from .exports import live_features_name, live_head_name, live_parts_request
from .features import backbone_config

OVERLAY_KINDS = {ModelVersion.Kind.DETECTOR: "box", ModelVersion.Kind.SEGMENTER: "mask"}
# Interpreters kept, by file: the backbone, the heads in service and the few just replaced.
_CACHE_SIZE = 8


@dataclass
class OverlayOutput:
    scores: np.ndarray | None  # the classifier's probabilities, when one was run
    boxes: list[dict]  # {"version", "label_class" (id), "score", "x", "y", "w", "h"} in frame pixels
    masks: list[dict]  # {"version", "label_class", "score", "rle", "bbox", "polygons"} in frame pixels


def overlay_versions(*, project: Project, version_ids=None) -> list[ModelVersion]:
    """The box and mask heads in service (of the project's kinds), or the versions named."""
    versions = ModelVersion.objects.filter(project=project, kind__in=list(OVERLAY_KINDS))
    if version_ids is None:
        if not set(OVERLAY_KINDS.values()) & set(project.kinds):
            return []  # a tags project: no query on the way of each frame
        return [v for v in versions.filter(in_service=True) if OVERLAY_KINDS[v.kind] in project.kinds]
    found = {v.pk: v for v in versions.filter(pk__in=version_ids)}
    for i in version_ids:
        if i not in found:
            raise ValidationError({"overlay_versions": f"No box or mask version {i} in this project."})
    if len({v.kind for v in found.values()}) < len(found):
        raise ValidationError({"overlay_versions": "Name at most one box version and one mask version."})
    return list(found.values())


def usable(versions: list[ModelVersion]) -> list[ModelVersion]:
    """Those whose live head can be built: trained on the configured backbone, files not removed."""
    key = backbone_config().key()
    return [v for v in versions if v.backbone_key == key and not v.metrics.get("files_removed") and v.artifact]


class _Net:
    """One TFLite file's interpreter; invoke() is serialised (a LiteRT interpreter is not re-entrant)."""

    def __init__(self, model: bytes):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=model, num_threads=min(2, os.cpu_count() or 1))
        self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        self.input_index, self.input_shape = inp["index"], tuple(int(d) for d in inp["shape"])
        # By rank, not by name: the converter names outputs after its own graph nodes.
        self.outputs = {len(o["shape"]): o["index"] for o in self.interpreter.get_output_details()}
        self.lock = threading.Lock()

    def __call__(self, x: np.ndarray) -> dict[int, np.ndarray]:
        with self.lock:
            self.interpreter.set_tensor(self.input_index, x.reshape(self.input_shape).astype(np.float32))
            self.interpreter.invoke()
            return {rank: self.interpreter.get_tensor(i)[0].copy() for rank, i in self.outputs.items()}


_nets: OrderedDict[str, _Net] = OrderedDict()
_nets_lock = threading.Lock()


def _net(name: str) -> _Net | None:
    with _nets_lock:
        net = _nets.get(name)
        if net is not None:
            _nets.move_to_end(name)
            return net
    try:
        with default_storage.open(name, "rb") as fh:
            model = fh.read()
    except FileNotFoundError:
        return None
    net = _Net(model)
    with _nets_lock:
        net = _nets.setdefault(name, net)
        _nets.move_to_end(name)
        while len(_nets) > _CACHE_SIZE:
            _nets.popitem(last=False)
    return net


def overlay_parts(*, classifier: ModelVersion | None, overlay: list[ModelVersion]):
    """(backbone, {version id: head}) when every file is there; else None, and their build is asked for."""
    versions = ([classifier] if classifier else []) + overlay
    backbone = _net(live_features_name(backbone_config()))
    heads = {v.pk: _net(live_head_name(v)) for v in versions}
    if backbone is None or any(h is None for h in heads.values()):
        live_parts_request(versions=versions)
        return None
    return backbone, heads


def input_size() -> int:
    return backbone_config().input_size


def overlay_run(*, project: Project, pixels: np.ndarray, frame_size: tuple[int, int], parts,
                classifier: ModelVersion | None, overlay: list[ModelVersion]) -> OverlayOutput:
    """One backbone pass on ``pixels`` (s x s RGB), each head on its output, decoded in frame pixels."""
    from labeling.geometry import mask_outline

    from ..ml import predict
    from .proposals import threshold_for

    backbone, heads = parts
    features = backbone(pixels[None].astype(np.float32))
    pooled, spatial = features[2], features[4]
    scores = heads[classifier.pk](pooled)[2] if classifier else None
    sizes = np.array([frame_size])
    boxes, masks = [], []
    for version in overlay:
        raw = heads[version.pk](spatial)[4][None]
        threshold = threshold_for(version, project)
        cap = int((version.metrics or {}).get("max_per_image", 100))
        if version.kind == ModelVersion.Kind.DETECTOR:
            for p in predict.decode_boxes(raw, sizes, len(version.class_ids), threshold, cap)[0]:
                x, y, w, h = p.bbox
                if w >= 1 and h >= 1:
                    boxes.append({"version": version, "label_class": version.class_ids[p.class_index],
                                  "score": p.score, "x": x, "y": y, "w": w, "h": h})
        else:
            for p in predict.decode_masks(raw, sizes, threshold)[0][:cap]:
                outline = mask_outline({"rle": p.rle})
                masks.append({"version": version, "label_class": version.class_ids[p.class_index],
                              "score": p.score, "rle": p.rle, "bbox": outline["bbox"],
                              "polygons": outline["polygons"]})
    return OverlayOutput(scores=scores, boxes=boxes, masks=masks)
