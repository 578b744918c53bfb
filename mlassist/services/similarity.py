"""Similarity between images by their stored pooled features (cosine), for the review grid.

Image-level: every annotation on an image shares its image's vector, because crops are not
featurised yet. Plain numpy on stored vectors; the backbone is never run here.
"""

from collections.abc import Iterable

import numpy as np

from ..ml.config import BackboneConfig
from ..ml.features import stack_pooled
from ..models import ImageFeatures
from .features import backbone_config

CHUNK = 500


class FeaturesMissing(Exception):
    """The anchor image has no stored features for the current backbone (yet)."""


def cosine_to(anchor: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``vectors`` (N, D) to ``anchor`` (D,), in [-1, 1]."""
    anchor = np.asarray(anchor, dtype=np.float32)
    vectors = np.asarray(vectors, dtype=np.float32)
    if not len(vectors):
        return np.zeros(0, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(anchor)), 1e-12)
    return (vectors @ anchor) / np.maximum(norms, 1e-12)


def pooled_vectors(*, image_ids: Iterable[int], cfg: BackboneConfig | None = None) -> dict[int, np.ndarray]:
    """Stored pooled vectors by image id; images without features are absent.

    Read in chunks so that only the (N, D) vectors stay in memory, not every blob.
    """
    key = (cfg or backbone_config()).key()
    ids = sorted(set(image_ids))
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(ids), CHUNK):
        rows = list(
            ImageFeatures.objects.filter(image_id__in=ids[start : start + CHUNK], backbone_key=key).values_list(
                "image_id", "blob"
            )
        )
        if rows:
            matrix = stack_pooled(bytes(blob) for _, blob in rows)
            out.update((image_id, matrix[i]) for i, (image_id, _) in enumerate(rows))
    return out


def image_similarity(
    *, anchor_image_id: int, image_ids: Iterable[int], cfg: BackboneConfig | None = None
) -> dict[int, float]:
    """Cosine similarity of each image's pooled features to the anchor image's.

    Raises FeaturesMissing when the anchor has none; images without features are left out.
    """
    ids = set(image_ids) | {anchor_image_id}
    vectors = pooled_vectors(image_ids=ids, cfg=cfg)
    if anchor_image_id not in vectors:
        raise FeaturesMissing(
            f"Image {anchor_image_id} has no stored features for the current backbone yet: they are computed "
            "in the background after upload (and before each training run)."
        )
    others = [i for i in vectors if i in ids]
    scores = cosine_to(vectors[anchor_image_id], np.stack([vectors[i] for i in others]))
    return {image_id: float(s) for image_id, s in zip(others, scores, strict=True)}
