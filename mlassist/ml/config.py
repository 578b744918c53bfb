"""Backbone configuration: which network, at which size, with which weights."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

BACKBONE_NAMES = ("mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large")
SPATIAL_STRIDES = (16, 32)

# Bump when the meaning of stored features changes (normalisation, resize mode,
# tap layer), so features computed by older code are recomputed instead of mixed.
FEATURE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class BackboneConfig:
    """A frozen backbone.

    Args:
        weights: "imagenet" (Keras' own download), "none" (random initialisation)
            or the filesystem path of a weights file for this exact network.
        spatial_stride: 16 taps the last residual block at 1/16 of the input
            (8x8 at 128 px), 32 the last conv block (4x4 at 128 px). 16 is the
            default because boxes and masks need the finer grid, and the 1/16
            block is also 10-40 times narrower, so it is cheaper to store.
    """

    name: str = "mobilenet_v2"
    input_size: int = 224
    alpha: float = 1.0
    weights: str = "imagenet"
    spatial_stride: int = 16

    def __post_init__(self):
        if self.name not in BACKBONE_NAMES:
            raise ValueError(f"backbone name {self.name!r} is not one of {', '.join(BACKBONE_NAMES)}")
        if not isinstance(self.input_size, int) or self.input_size < 32:
            raise ValueError(f"backbone input_size must be an integer of at least 32, got {self.input_size!r}")
        if not self.alpha > 0:
            raise ValueError(f"backbone alpha must be positive, got {self.alpha!r}")
        if not self.weights:
            raise ValueError('backbone weights must be "imagenet", "none" or a file path')
        if self.spatial_stride not in SPATIAL_STRIDES:
            raise ValueError(f"backbone spatial_stride must be one of {SPATIAL_STRIDES}, got {self.spatial_stride!r}")

    @property
    def random_init(self) -> bool:
        """True when proposals come from an untrained backbone (the UI warns)."""
        return self.weights == "none"

    def key(self) -> str:
        """A short string that changes whenever any field (or the feature format) changes.

        Stored features are keyed by (image, key()); a new key means recompute.
        """
        fields = asdict(self)
        canon = "|".join(f"{k}={fields[k]!r}" for k in sorted(fields))
        digest = hashlib.sha256(f"v{FEATURE_FORMAT_VERSION}|{canon}".encode()).hexdigest()[:12]
        # Readable prefix for logs and admin pages, digest for uniqueness (paths are long).
        return f"{self.name}-{self.input_size}-a{self.alpha:g}-s{self.spatial_stride}-{digest}"
