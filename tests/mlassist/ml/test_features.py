import io

import numpy as np
import pytest
from PIL import Image

from mlassist.ml.features import (
    FeatureExtractor,
    FeatureInputError,
    ImageFeatures,
    load_image,
    stack_pooled,
    stack_spatial,
)


def _jpeg(w, h, seed=0, orientation=None) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    im = Image.fromarray(pixels)
    f = io.BytesIO()
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        im.save(f, "JPEG", exif=exif)
    else:
        im.save(f, "JPEG")
    return f.getvalue()


def test_untrained_activations_survive_float16_storage(digits, digits_extractor):
    blobs = digits[0][:8]
    pixels = np.stack([load_image(b, digits_extractor.cfg.input_size)[0] for b in blobs]).astype(np.float32)
    raw_pooled, raw_spatial = digits_extractor.forward(pixels)
    # The problem being solved: stored as float16 directly, an untrained backbone's features are gone.
    assert np.count_nonzero(raw_pooled.astype(np.float16)) < 0.01 * raw_pooled.size

    stored = [ImageFeatures.from_bytes(f.to_bytes()) for f in digits_extractor.extract(blobs)]
    assert all(f.pooled.dtype == np.float16 and f.spatial.dtype == np.float16 for f in stored)
    for f, rp, rs in zip(stored, raw_pooled, raw_spatial, strict=True):
        back = f.pooled.astype(np.float64) * f.pooled_norm
        np.testing.assert_allclose(back, rp, rtol=0, atol=2e-3 * np.abs(rp).max())
        back = f.spatial.astype(np.float64) * f.spatial_scale
        np.testing.assert_allclose(back, rs, rtol=0, atol=2e-3 * np.abs(rs).max())
        assert abs(np.linalg.norm(f.pooled.astype(np.float64)) - 1) < 1e-2


def test_features_do_not_depend_on_batch(digits, digits_cfg):
    blobs = digits[0][:5]
    one_batch = FeatureExtractor(digits_cfg, batch_size=5).extract(blobs)
    small = FeatureExtractor(digits_cfg, batch_size=2).extract(blobs)
    for a, b in zip(one_batch, small, strict=True):
        np.testing.assert_allclose(a.pooled.astype(np.float32), b.pooled.astype(np.float32), atol=2e-3)


def test_blob_round_trip_and_stacking(digits, digits_extractor):
    feats = digits_extractor.extract(digits[0][:3])
    blobs = [f.to_bytes() for f in feats]
    back = ImageFeatures.from_bytes(blobs[1])
    np.testing.assert_array_equal(back.pooled, feats[1].pooled)
    np.testing.assert_array_equal(back.spatial, feats[1].spatial)
    assert (back.image_width, back.image_height, back.backbone_key) == (64, 64, digits_extractor.cfg.key())
    assert stack_pooled(blobs).shape == (3, feats[0].pooled.shape[0])
    maps, sizes = stack_spatial(blobs)
    assert maps.shape == (3, *feats[0].spatial.shape) and maps.dtype == np.float32
    assert sizes.tolist() == [[64, 64]] * 3
    with pytest.raises(ValueError, match="magic"):
        ImageFeatures.from_bytes(b"PK\x03\x04 not features")


def test_exif_rotation_and_scale_for_mapping_boxes_back(digits_extractor, tmp_path):
    # Stored 80 wide x 40 high, EXIF says "rotate 90": the user sees 40 x 80.
    path = tmp_path / "rotated.jpg"
    path.write_bytes(_jpeg(80, 40, orientation=6))
    pixels, size = load_image(path, 64)
    assert pixels.shape == (64, 64, 3) and pixels.dtype == np.uint8
    assert size == (40, 80)
    (f,) = digits_extractor.extract([str(path)])
    assert (f.image_width, f.image_height) == (40, 80)
    assert f.scale_x == pytest.approx(64 / 40) and f.scale_y == pytest.approx(64 / 80)


def test_paths_and_bytes_give_the_same_features(digits_extractor, tmp_path):
    data = _jpeg(300, 200, seed=3)
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    a, b = digits_extractor.extract([data, path])
    # Same pixels; only the position in the batch differs, which moves the last float16 digit at most.
    np.testing.assert_allclose(a.pooled.astype(np.float32), b.pooled.astype(np.float32), atol=1e-3)


def test_unreadable_image_is_named_or_skipped(digits_extractor):
    good = _jpeg(50, 50)
    with pytest.raises(FeatureInputError, match="image 1: cannot decode"):
        digits_extractor.extract([good, b"this is not an image", good])
    got = digits_extractor.extract([good, b"this is not an image", good], on_error="skip")
    assert got[1] is None and got[0] is not None and got[2] is not None
    np.testing.assert_allclose(got[0].pooled.astype(np.float32), got[2].pooled.astype(np.float32), atol=1e-3)


def test_progress_is_reported_per_batch(digits, digits_cfg):
    calls = []
    FeatureExtractor(digits_cfg, batch_size=4).extract(digits[0][:10], progress=lambda *a: calls.append(a))
    assert [(s, done, total) for s, done, total, _ in calls] == [("features", 4, 10), ("features", 8, 10), ("features", 10, 10)]


# --- Decoding in bounded memory ---------------------------------------------------------------


def _blank_png(width: int, height: int, colour_type: int = 6) -> bytes:
    """A PNG written row by row (colour type 6: RGBA), so a huge one never exists as a bitmap here."""
    import zlib

    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    packer, row = zlib.compressobj(9), b"\0" * (1 + channels * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, colour_type, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_large_transparent_png_is_reduced_right_after_decoding(tmp_path):
    """A 25-MP RGBA PNG: decoded a strip at a time and reduced at once; the old path made four full-size
    copies (RGBA, a white background, the composite, RGB: over 400 MB). Measured as the ru_maxrss
    growth of a fresh process, since Pillow's bitmaps are invisible to tracemalloc."""
    import os
    import subprocess
    import sys

    path = tmp_path / "big.png"
    path.write_bytes(_blank_png(5000, 5000))
    code = (
        "import resource; from mlassist.ml.features import load_image;"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        f"pixels, size = load_image({str(path)!r}, 224);"
        "print(pixels.shape[0], pixels[0, 0, 0], size[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=dict(os.environ))
    side, first_value, width, grown_kib = map(int, out.stdout.split())
    assert (side, width) == (224, 5000)
    assert first_value == 255  # fully transparent pixels become white
    assert grown_kib < 60_000, grown_kib  # the old path grew by 392 MB here


@pytest.mark.parametrize("mode", ["P", "1", "I;16", "LA", "RGBA", "CMYK"])
def test_every_mode_decodes_reduced_to_rgb(mode):
    im = Image.new(mode, (900, 700))
    f = io.BytesIO()
    im.save(f, "JPEG" if mode == "CMYK" else "PNG")
    pixels, size = load_image(f.getvalue(), 224)
    assert pixels.shape == (224, 224, 3) and pixels.dtype == np.uint8 and size == (900, 700)


@pytest.mark.parametrize(
    ("mode", "options"),
    [("RGB", {}), ("RGBA", {}), ("L", {}), ("LA", {}), ("RGB", {"optimize": True}), ("P", {}), ("P", {"transparency": 3})],
)
def test_png_strips_decode_exactly_like_the_whole_image(monkeypatch, mode, options):
    """Strip by strip (each strip's filters see the previous strip's last row) gives the very pixels
    a whole decode and reduce gives; many small strips here."""
    from mlassist.ml import decode

    monkeypatch.setattr(decode, "_STRIP_BYTES", 40_000)
    rng = np.random.default_rng(3)
    im = Image.fromarray(rng.integers(0, 255, (517, 301, 4), dtype=np.uint8), "RGBA")
    im = im.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE) if mode == "P" else im.convert(mode)
    f = io.BytesIO()
    im.save(f, "PNG", **options)
    strips, size, orientation = decode.decode_reduced(io.BytesIO(f.getvalue()), 64)
    assert size == (301, 517) and orientation == 1
    whole = decode.reduce_loaded(Image.open(io.BytesIO(f.getvalue())), 4)
    assert strips.size == whole.size == (76, 130)
    assert np.array_equal(np.asarray(strips.convert("RGBA")), np.asarray(whole.convert("RGBA")))


def test_a_png_cut_short_is_refused_by_the_strip_decoder():
    from mlassist.ml import decode

    data = _blank_png(600, 400)
    with pytest.raises(FeatureInputError):
        load_image(data[: len(data) // 2] + data[-12:], 64)
    with pytest.raises(OSError):
        decode.decode_reduced(io.BytesIO(data[: len(data) // 2]), 64)
