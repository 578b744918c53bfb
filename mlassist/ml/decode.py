"""Decoding an image reduced, in bounded memory: for thumbnails and the backbone's ~224 px input.

Pillow decodes a PNG only whole: a 100-MP PNG (a few hundred KB of zeros) becomes a 400 MB
bitmap before anything can shrink it. PNG's filters refer only to the row above, so the image
data can be decoded a strip at a time instead: the compressed stream is inflated chunk by chunk,
and each strip of raw rows goes to Pillow as a small PNG of its own whose first row is the
previous strip's last row, already reconstructed and stored unfiltered. Each strip is reduced at
once; at no time is more than a strip held. JPEG uses libjpeg's own reduced decoding (draft).
Other formats (GIF, WebP, BMP, interlaced or 16-bit PNG) are decoded whole and reduced at once.

Pure Pillow and zlib: no Django, no TensorFlow (labeling's thumbnails use it too).
"""

from __future__ import annotations

import io
import zlib

from PIL import Image

EXIF_ORIENTATION = 0x0112
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples a pixel
_STRIP_BYTES = 4 * 1024 * 1024  # raw bytes of one strip
_INFLATE_PIECE = 1024 * 1024
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "CMYK", "I", "F", "YCbCr", "PA"}  # modes Image.reduce takes


def decode_reduced(fp, size: int) -> tuple[Image.Image, tuple[int, int], int]:
    """Decode the image in ``fp`` (a binary file) shrunk by the largest integer factor that keeps
    both sides >= ``size``.

    Returns (image, (width, height) as stored, EXIF orientation); rotating is the caller's part,
    on the small image.
    """
    with Image.open(fp) as im:
        width, height = im.size
        factor = max(1, min(width, height) // size)
        if im.format == "PNG" and factor > 1:
            strips = _png_strips(fp, factor)
            if strips is not None:
                return strips[0], (width, height), strips[1]
        orientation = im.getexif().get(EXIF_ORIENTATION, 1) if im.format != "PNG" else None
        # JPEG: libjpeg decodes at 1/2..1/8 scale (never below size).
        im.draft("RGB", (size, size))
        small = reduce_loaded(im, max(1, min(im.width, im.height) // size))
        if orientation is None:  # PNG: its eXIf chunk may follow the image data, read by now
            orientation = im.getexif().get(EXIF_ORIENTATION, 1)
        return small, (width, height), orientation


def reduce_loaded(im: Image.Image, factor: int) -> Image.Image:
    """Decode ``im`` whole and shrink it by ``factor`` without a second full-size copy."""
    im.load()
    if factor <= 1:
        return im.copy()
    if im.mode not in _REDUCIBLE:
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode not in ("LA", "RGBA"):
        return im.reduce(factor)
    # Pillow reduces LA/RGBA through a premultiplied full-size copy: a strip at a time instead.
    out = Image.new(im.mode, (-(-im.width // factor), -(-im.height // factor)))
    rows = factor * max(1, 1_000_000 // (im.width * factor))
    for top in range(0, im.height, rows):
        out.paste(im.crop((0, top, im.width, min(im.height, top + rows))).reduce(factor), (0, top // factor))
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def _png_strips(fp, factor: int) -> tuple[Image.Image, int] | None:
    """(reduced image, orientation) decoded strip by strip; None when the PNG is not plain 8-bit,
    non-interlaced (the caller then decodes it whole)."""
    fp.seek(0)
    if fp.read(8) != _SIGNATURE:
        return None
    header, extra, exif = None, [], None
    inflate, pending, state = zlib.decompressobj(), bytearray(), {}
    while True:
        head = fp.read(8)
        if len(head) < 8:
            break
        length, kind = int.from_bytes(head[:4], "big"), head[4:]
        data = fp.read(length)
        fp.read(4)  # the CRC: the upload check verified every chunk already
        if kind == b"IHDR":
            header = data
            width, height = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
            depth, colour, interlace = data[8], data[9], data[12]
            if depth != 8 or interlace or colour not in _CHANNELS:
                return None
            row = 1 + width * _CHANNELS[colour]
            rows_a_strip = factor * max(1, _STRIP_BYTES // (row * factor))
            state = {"width": width, "height": height, "row": row, "rows": rows_a_strip, "y": 0, "prev": None,
                     "out": None, "header": header, "extra": extra, "factor": factor}
        elif kind in (b"PLTE", b"tRNS"):
            extra.append(_chunk(kind, data))
        elif kind == b"eXIf":
            exif = data
        elif kind == b"IDAT" and state:
            while data:
                pending += inflate.decompress(data, _INFLATE_PIECE)
                data = inflate.unconsumed_tail
                strip_bytes = state["rows"] * state["row"]
                while len(pending) >= strip_bytes:
                    _strip(state, bytes(pending[:strip_bytes]))
                    del pending[:strip_bytes]
        elif kind == b"IEND":
            break
    pending += inflate.flush()
    if not state:
        return None
    usable = (len(pending) // state["row"]) * state["row"]
    if usable:
        _strip(state, bytes(pending[:usable]))
    if state["out"] is None or state["y"] < state["height"]:
        raise OSError(f"the PNG's image data ends after {state['y']} of {state['height']} rows")
    orientation = 1
    if exif:
        parsed = Image.Exif()
        parsed.load(exif)
        orientation = parsed.get(EXIF_ORIENTATION, 1)
    return state["out"], orientation


def _strip(state: dict, raw: bytes) -> None:
    """Decode ``raw`` (whole filtered rows) with the previous row as context; paste it reduced."""
    width, count = state["width"], len(raw) // state["row"]
    count = min(count, state["height"] - state["y"])
    if count <= 0:
        return
    raw = raw[: count * state["row"]]
    first = 0 if state["prev"] is None else 1
    if first:
        raw = b"\0" + state["prev"] + raw  # the row above, unfiltered: the strip's filters see it
    header = width.to_bytes(4, "big") + (count + first).to_bytes(4, "big") + state["header"][8:]
    png = b"".join([_SIGNATURE, _chunk(b"IHDR", header), *state["extra"], _chunk(b"IDAT", zlib.compress(raw, 0)),
                    _chunk(b"IEND", b"")])
    with Image.open(io.BytesIO(png)) as part:
        part.load()
        state["prev"] = part.crop((0, count + first - 1, width, count + first)).tobytes()
        strip = part.crop((0, first, width, count + first)) if first else part.copy()
        if "transparency" in part.info:
            strip.info["transparency"] = part.info["transparency"]
    factor = state["factor"]
    if strip.mode not in _REDUCIBLE:
        strip = strip.convert("RGBA" if "transparency" in strip.info else "RGB")
    small = strip.reduce(factor)
    if state["out"] is None:
        state["out"] = Image.new(small.mode, (-(-width // factor), -(-state["height"] // factor)))
    state["out"].paste(small, (0, state["y"] // factor))
    state["y"] += count
