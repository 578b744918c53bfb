"""Images -> stored features: decode, resize, batch, run the backbone, normalise, serialise.

Resize mode: plain resize (stretch) of the whole image to input_size x input_size,
no letterbox. Every input pixel lands on the network and a box maps back with
two independent scales (scale_x, scale_y); the TFLite model sees camera frames
resized the same way, so server and device agree.

Normalisation: an untrained MobileNet's activations shrink through the network
(pooled about 1e-11, the 1/16 map about 1e-7 here), below float16's smallest
value, so stored raw they become zeros. We store
  pooled  / ||pooled||_2          (a unit vector, entries about 1/sqrt(D))
  spatial / rms(spatial)          (one scalar per image, entries about 1)
with the divisor recorded as float32 next to them. Both are per image, so a
feature never depends on which other images were in the batch, and the heads
add their own per-channel standardisation (fitted on the training split). The
same pooled formula runs inside the exported TFLite model.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import BackboneConfig
from .decode import decode_reduced

ImageSource = bytes | bytearray | memoryview | str | os.PathLike

_MAGIC = b"MLF1"
_EXIF_ORIENTATION = 0x0112
_TINY = 1e-30


class FeatureInputError(ValueError):
    """An image could not be read; the message names which one and why."""


@dataclass
class ImageFeatures:
    """Stored features of one image.

    pooled * pooled_norm and spatial * spatial_scale give back the raw activations.
    """

    pooled: np.ndarray  # (D,) float16, unit L2 norm
    pooled_norm: float
    spatial: np.ndarray  # (h, w, C) float16, unit RMS
    spatial_scale: float
    image_width: int  # after EXIF rotation, in the image's own pixels
    image_height: int
    input_size: int
    backbone_key: str = ""

    @property
    def scale_x(self) -> float:
        """Network-input pixels per image pixel along x (boxes: x_image = x_input / scale_x)."""
        return self.input_size / self.image_width

    @property
    def scale_y(self) -> float:
        return self.input_size / self.image_height

    def to_bytes(self) -> bytes:
        """Compact raw encoding for a BinaryField or a file (see from_bytes)."""
        header = {
            "pooled": [list(self.pooled.shape), self.pooled.dtype.str],
            "spatial": [list(self.spatial.shape), self.spatial.dtype.str],
            "pooled_norm": float(self.pooled_norm),
            "spatial_scale": float(self.spatial_scale),
            "image_size": [int(self.image_width), int(self.image_height)],
            "input_size": int(self.input_size),
            "backbone_key": self.backbone_key,
        }
        head = json.dumps(header, separators=(",", ":")).encode()
        pooled = np.ascontiguousarray(self.pooled).tobytes()
        spatial = np.ascontiguousarray(self.spatial).tobytes()
        return b"".join([_MAGIC, struct.pack("<I", len(head)), head, pooled, spatial])

    @classmethod
    def from_bytes(cls, blob: bytes | memoryview) -> ImageFeatures:
        header, pooled, spatial = _split(blob)
        return cls(
            pooled=pooled,
            pooled_norm=header["pooled_norm"],
            spatial=spatial,
            spatial_scale=header["spatial_scale"],
            image_width=header["image_size"][0],
            image_height=header["image_size"][1],
            input_size=header["input_size"],
            backbone_key=header.get("backbone_key", ""),
        )


def _split(blob) -> tuple[dict, np.ndarray, np.ndarray]:
    # np.frombuffer views the blob without copying: reading 5,000 vectors is
    # dominated by json parsing of the small header, not by array copies.
    mv = memoryview(blob)
    if bytes(mv[:4]) != _MAGIC:
        raise ValueError("not a stored feature blob (bad magic)")
    (n,) = struct.unpack_from("<I", mv, 4)
    header = json.loads(bytes(mv[8 : 8 + n]))
    off = 8 + n
    arrays = []
    for name in ("pooled", "spatial"):
        shape, dtype = header[name]
        count = int(np.prod(shape))
        arr = np.frombuffer(mv, dtype=np.dtype(dtype), count=count, offset=off).reshape(shape)
        off += arr.nbytes
        arrays.append(arr)
    return header, arrays[0], arrays[1]


def stack_pooled(blobs: Iterable[bytes]) -> np.ndarray:
    """(N, D) float32 matrix of the stored pooled vectors, for the classifier."""
    return np.stack([_split(b)[1] for b in blobs]).astype(np.float32)


def stack_spatial(blobs: Iterable[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """((N, h, w, C) float32 maps, (N, 2) image sizes as width, height), for box and mask heads."""
    maps, sizes = [], []
    for b in blobs:
        header, _, spatial = _split(b)
        maps.append(spatial)
        sizes.append(header["image_size"])
    return np.stack(maps).astype(np.float32), np.asarray(sizes, dtype=np.int64)


def normalise_pooled(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows to unit L2 norm; returns (unit rows float32, norms float64).

    Computed in float64 after dividing by the max-abs, so 1e-12 activations
    neither underflow when squared nor lose precision.
    """
    raw = np.asarray(raw, dtype=np.float64)
    peak = np.maximum(np.abs(raw).max(axis=-1, keepdims=True), _TINY)
    scaled = raw / peak
    norm = np.linalg.norm(scaled, axis=-1, keepdims=True)
    unit = scaled / np.maximum(norm, _TINY)
    return unit.astype(np.float32), (norm * peak)[..., 0]


def normalise_spatial(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each map (…, h, w, C) to unit RMS; returns (maps float32, rms per map float64)."""
    raw = np.asarray(raw, dtype=np.float64)
    axes = tuple(range(raw.ndim - 3, raw.ndim))
    peak = np.maximum(np.abs(raw).max(axis=axes, keepdims=True), _TINY)
    scaled = raw / peak
    rms = np.sqrt(np.mean(scaled**2, axis=axes, keepdims=True))
    out = scaled / np.maximum(rms, _TINY)
    return out.astype(np.float32), (rms * peak).reshape(raw.shape[: raw.ndim - 3])


# Images above this many pixels that have no reduced decoder (GIF, WebP, BMP, interlaced PNG) are
# decoded one at a time per process: the decode threads would otherwise hold several at once.
LARGE_DECODE_PIXELS = 16_000_000
_LARGE_DECODE = threading.Lock()


def load_image(source: ImageSource, size: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode one image to (size, size, 3) uint8 RGB; also returns its (width, height) after EXIF rotation.

    Memory: decoded reduced (decode.py: JPEG at 1/2..1/8 scale, PNG strip by strip, others
    reduced at once after decoding), so rotation, alpha compositing and resizing work on the
    small image and no full-size copy or float array is ever made.
    """
    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    try:
        with open(fp, "rb") if isinstance(fp, (str, os.PathLike)) else contextlib.nullcontext(fp) as fh:
            with Image.open(fh) as probe:
                large = probe.width * probe.height > LARGE_DECODE_PIXELS
            fh.seek(0)
            with _LARGE_DECODE if large else contextlib.nullcontext():
                small, (width, height), orientation = decode_reduced(fh, size)
        if orientation in (5, 6, 7, 8):  # rotated by 90 degrees: width and height swap
            width, height = height, width
        if orientation != 1:
            small.getexif()[_EXIF_ORIENTATION] = orientation
            small = ImageOps.exif_transpose(small)
        if small.mode != "RGB":
            # Transparent pixels become white rather than whatever colour they hide.
            if small.mode in ("RGBA", "LA", "P", "PA"):
                small = small.convert("RGBA")
                bg = Image.new("RGBA", small.size, (255, 255, 255, 255))
                small = Image.alpha_composite(bg, small)
            small = small.convert("RGB")
        small = small.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(small, dtype=np.uint8), (width, height)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, zlib.error) as exc:
        raise FeatureInputError(f"cannot decode image: {exc}") from exc


class FeatureExtractor:
    """Runs a backbone over many images in batches; decoding of the next batch overlaps the forward pass."""

    def __init__(self, cfg: BackboneConfig, batch_size: int = 32, decode_workers: int | None = None, backbone=None):
        import tensorflow as tf

        from .backbone import build_backbone

        self.cfg = cfg
        self.batch_size = batch_size
        self.backbone = backbone or build_backbone(cfg)
        self._workers = decode_workers or min(4, os.cpu_count() or 1)
        model = self.backbone
        spec = tf.TensorSpec([None, cfg.input_size, cfg.input_size, 3], tf.float32)

        # A traced function with a batch-agnostic signature: no per-call Keras
        # overhead and no retracing for the last, shorter batch.
        @tf.function(input_signature=[spec])
        def forward(x):
            out = model(x, training=False)
            return out["pooled"], out["spatial"]

        self._forward = forward

    def forward(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bare backbone pass on a decoded (B, s, s, 3) batch: raw (pooled, spatial)."""
        pooled, spatial = self._forward(np.asarray(images, dtype=np.float32))
        return pooled.numpy(), spatial.numpy()

    def _decode_batch(self, pool, sources, start):
        def one(i_src):
            i, src = i_src
            try:
                return load_image(src, self.cfg.input_size)
            except FeatureInputError as exc:
                return FeatureInputError(f"image {i}: {exc}")

        return list(pool.map(one, enumerate(sources, start)))

    def iter_batches(self, sources: Sequence[ImageSource], on_error: str = "raise") -> Iterator[list]:
        """Yields one list of ImageFeatures per batch (None in place of unreadable images when on_error="skip")."""
        if on_error not in ("raise", "skip"):
            raise ValueError('on_error must be "raise" or "skip"')
        sources = list(sources)
        bs = self.batch_size
        starts = range(0, len(sources), bs)
        # Two executors: one thread prepares the next batch (so it overlaps the
        # forward pass) by fanning out to the decode pool; sharing one pool could
        # deadlock with a single worker.
        with ThreadPoolExecutor(1) as ahead, ThreadPoolExecutor(self._workers) as pool:
            pending = ahead.submit(self._decode_batch, pool, sources[:bs], 0) if sources else None
            for start in starts:
                decoded = pending.result()
                nxt = start + bs
                if nxt < len(sources):
                    pending = ahead.submit(self._decode_batch, pool, sources[nxt : nxt + bs], nxt)
                yield self._features_of(decoded, on_error)

    def _features_of(self, decoded, on_error):
        ok = [d for d in decoded if not isinstance(d, Exception)]
        for d in decoded:
            if isinstance(d, Exception) and on_error == "raise":
                raise d
        out = [None] * len(decoded)
        if not ok:
            return out
        batch = np.stack([pix for pix, _ in ok]).astype(np.float32)
        pooled_raw, spatial_raw = self.forward(batch)
        pooled, norms = normalise_pooled(pooled_raw)
        spatial, rms = normalise_spatial(spatial_raw)
        pooled, spatial = pooled.astype(np.float16), spatial.astype(np.float16)
        j = 0
        key = self.cfg.key()
        for i, d in enumerate(decoded):
            if isinstance(d, Exception):
                continue
            (w, h) = d[1]
            out[i] = ImageFeatures(
                pooled=pooled[j], pooled_norm=float(norms[j]), spatial=spatial[j], spatial_scale=float(rms[j]),
                image_width=w, image_height=h, input_size=self.cfg.input_size, backbone_key=key,
            )  # fmt: skip
            j += 1
        return out

    def extract(self, sources: Sequence[ImageSource], on_error: str = "raise", progress=None) -> list:
        """Features for every source (bytes or path), in order.

        Args:
            progress: optional callback(stage, done, total, loss) called after each batch (loss is 0.0).
        """
        results = []
        total = len(sources)
        for batch in self.iter_batches(sources, on_error=on_error):
            results.extend(batch)
            if progress:
                progress("features", len(results), total, 0.0)
        return results


def extract_features(cfg: BackboneConfig, sources: Sequence[ImageSource], batch_size: int = 32) -> list[ImageFeatures]:
    """One-shot convenience: build the backbone and extract features for `sources`."""
    return FeatureExtractor(cfg, batch_size=batch_size).extract(sources)
