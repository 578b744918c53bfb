"""Checking uploaded files before anything is stored: images that Pillow decodes, safe zips.

Nothing here writes to storage or the database; it turns uploads into checked images (a file
object, its size, sha256 and pixel size) or into refusals that name the file and the reason.

Memory is bounded whatever the input: files are read in chunks (zip members into spooled
temporary files, with running totals against the caps), and images over
``IMAGE_FULL_DECODE_MAX_PIXELS`` are verified without holding their full bitmap (JPEG decoded at
1/8 scale, PNG's compressed stream inflated chunk by chunk and its length checked).
"""

import hashlib
import io
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import PIL.Image
from django.conf import settings
from PIL import UnidentifiedImageError

from ..names import safe_file_name

# Formats every current browser can show: an image the annotator cannot see cannot be labelled.
# MPO (cameras' multi-picture JPEG) is a JPEG followed by more frames: stored as its first frame.
BROWSER_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}
# Magic numbers of archives and compressed files that must not hide inside a zip.
ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
NOT_AN_IMAGE = "This is not an image that can be decoded (JPEG, PNG, GIF, WebP or BMP)."
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
_CHUNK = 256 * 1024
# Enough of a file for Pillow to read any supported format's header: a member whose first bytes
# are no image is refused without inflating the rest (a zero-filled member costs one chunk).
_SNIFF = 64 * 1024
# A member up to this size stays in memory while it is checked; larger ones spill to disk.
_SPOOL_IN_MEMORY = 8 * 1024 * 1024


class UploadRefused(Exception):
    def __init__(self, file: str, detail: str):
        super().__init__(f"{file}: {detail}")
        self.file = file
        self.detail = detail


class DuplicateImage(UploadRefused):
    """The content is already stored (``image_id``), or appeared earlier in the same upload (None)."""

    def __init__(self, file: str, detail: str, image_id: int | None = None):
        super().__init__(file, detail)
        self.image_id = image_id


@dataclass(frozen=True)
class CheckedImage:
    name: str  # already a safe base name (labeling.names.safe_file_name)
    file: BinaryIO  # the bytes to store, from the start
    size: int
    sha256: str
    width: int
    height: int
    format: str

    @property
    def extension(self) -> str:
        return BROWSER_FORMATS[self.format]


def check_image(name: str, source: bytes | BinaryIO, *, percent_encoded: bool = False) -> CheckedImage:
    """Verify that ``source`` is a complete, sane image in a browser format; refuse anything else.

    ``name`` is how the file was called (the refusal names it); the checked image carries its
    safe base name. ``source`` is bytes or a seekable binary file.
    """
    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    size, digest = _size_and_digest(fp)
    if not size:
        raise UploadRefused(name, "The file is empty.")
    if size > settings.UPLOAD_MAX_FILE_BYTES:
        raise UploadRefused(name, f"The file has {size} bytes; the limit is {settings.UPLOAD_MAX_FILE_BYTES}.")
    limit = settings.IMAGE_MAX_PIXELS
    # Pillow's own guard then fires at our limit, before it allocates anything.
    PIL.Image.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            fp.seek(0)
            image = PIL.Image.open(fp)
            width, height = image.size
            if width * height > limit:
                raise UploadRefused(
                    name, f"The image is {width}×{height} = {width * height} pixels, over the limit of {limit}."
                )
            fmt = "JPEG" if image.format == "MPO" else image.format
            if fmt not in BROWSER_FORMATS:
                raise UploadRefused(
                    name, f"{image.format} images are not supported; use {', '.join(sorted(BROWSER_FORMATS))}."
                )
            first_frame_end = _mpo_first_frame_end(image) if image.format == "MPO" else None
            orientation = _verify_pixels(image, fp)
    except UploadRefused:
        raise
    except UnidentifiedImageError:
        raise UploadRefused(name, NOT_AN_IMAGE) from None
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
        raise UploadRefused(name, f"The image has more pixels than allowed: over the limit of {limit}.") from None
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as exc:
        raise UploadRefused(name, f"The image could not be decoded: {exc}.") from None
    if first_frame_end:
        fp = _head(fp, first_frame_end)
        size, digest = _size_and_digest(fp)
    if orientation in _ROTATED:
        width, height = height, width  # browsers show the rotated image, so its size is what we label
    fp.seek(0)
    return CheckedImage(
        name=safe_file_name(name, extension=BROWSER_FORMATS[fmt], percent_encoded=percent_encoded),
        file=fp, size=size, sha256=digest, width=width, height=height, format=fmt,
    )


def _size_and_digest(fp) -> tuple[int, str]:
    fp.seek(0)
    sha, size = hashlib.sha256(), 0
    while chunk := fp.read(_CHUNK):
        sha.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest()


def _verify_pixels(image: PIL.Image.Image, fp) -> int | None:
    """Decode every pixel (truncated or corrupt data fails), holding at most a bounded bitmap.

    Returns the EXIF orientation (for PNG it may sit after the image data, where Pillow's
    ``getexif`` would decode the whole image to find it).
    """
    width, height = image.size
    if width * height <= settings.IMAGE_FULL_DECODE_MAX_PIXELS:
        image.load()
    elif image.format in ("JPEG", "MPO"):
        # libjpeg reads every byte of the entropy-coded data but writes 1/8 of the size.
        image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
        image.load()
    elif image.format == "PNG":
        exif = _png_stream_check(fp, width, height)
        if not exif:
            return None
        parsed = PIL.Image.Exif()
        parsed.load(exif)
        return parsed.get(0x0112)
    else:  # GIF, WebP and BMP have no reduced decoder: bounded by IMAGE_MAX_PIXELS
        image.load()
    return image.getexif().get(0x0112)


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def _png_stream_check(fp, width: int, height: int) -> bytes | None:
    """A PNG is complete when its chunks' CRCs hold and its image data inflates to exactly the size
    its header implies; checked chunk by chunk, so a 100-MP PNG costs kilobytes, not 400 MB.
    Returns the eXIf chunk's data, if any."""
    fp.seek(8)
    exif = None
    inflate = zlib.decompressobj()
    expected = produced = None
    seen_end = False
    while not seen_end:
        head = fp.read(8)
        if len(head) < 8:
            raise ValueError("the PNG ends before its IEND chunk (truncated)")
        length, kind = int.from_bytes(head[:4], "big"), head[4:]
        crc = zlib.crc32(kind)
        remaining = length
        while remaining:
            piece = fp.read(min(remaining, _CHUNK))
            if not piece:
                raise ValueError(f"the PNG's {kind.decode('latin-1')} chunk is truncated")
            remaining -= len(piece)
            crc = zlib.crc32(piece, crc)
            if kind == b"IHDR" and expected is None:
                expected, produced = _png_raw_size(piece, width, height), 0
            elif kind == b"IDAT":
                if expected is None:
                    raise ValueError("the PNG has image data before its header")
                produced += _inflate_counting(inflate, piece, expected - produced)
            elif kind == b"eXIf" and length <= 65536:
                exif = (exif or b"") + piece
        if fp.read(4) != crc.to_bytes(4, "big"):
            raise ValueError(f"the PNG's {kind.decode('latin-1')} chunk is corrupt (CRC mismatch)")
        seen_end = kind == b"IEND"
    produced += len(inflate.flush())
    if expected is None or produced != expected or not inflate.eof:
        raise ValueError(f"the PNG's image data is incomplete ({produced or 0} of {expected or 0} bytes)")
    return exif


def _png_raw_size(ihdr: bytes, width: int, height: int) -> int:
    depth, colour, interlace = ihdr[8], ihdr[9], ihdr[12]
    bits = _PNG_CHANNELS.get(colour, 4) * depth
    if not interlace:
        return height * (1 + (width * bits + 7) // 8)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        pw, ph = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if pw > 0 and ph > 0:
            total += ph * (1 + (pw * bits + 7) // 8)
    return total


def _inflate_counting(inflate, data: bytes, room: int) -> int:
    """Inflate ``data`` a bounded piece at a time, returning how many bytes came out."""
    produced = 0
    while data:
        out = inflate.decompress(data, _CHUNK)
        produced += len(out)
        if produced > room:
            raise ValueError("the PNG's image data is longer than its header says")
        data = inflate.unconsumed_tail
    return produced


def _mpo_first_frame_end(image) -> int | None:
    """Where an MPO's first frame (a complete JPEG) ends, from its MP index; None if unknown."""
    offsets = getattr(image, "_MpoImageFile__mpoffsets", None)
    return offsets[1] if offsets and len(offsets) > 1 and offsets[1] > 0 else None


def _head(fp, end: int):
    fp.seek(0)
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)
    left = end
    while left and (chunk := fp.read(min(left, _CHUNK))):
        out.write(chunk)
        left -= len(chunk)
    out.seek(0)
    return out


def is_zip(data_head: bytes) -> bool:
    return data_head.startswith(b"PK\x03\x04") or data_head.startswith(b"PK\x05\x06")


def _climbs_out(name: str) -> bool:
    """Whether a member's path would leave the archive's folder (absolute, a drive, or ``..``)."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in name.replace("\\", "/").split("/")


def zip_members(archive_name: str, fileobj) -> Iterator[tuple[str, BinaryIO | UploadRefused]]:
    """Yield (member name, file) for each file of a zip, or (name, UploadRefused) for a bad member.

    Each member is read in chunks into a spooled temporary file, against running totals: it is
    refused as soon as it passes UPLOAD_MAX_FILE_BYTES, and its first chunk must look like an
    image (no archive, no zero-filled padding). The whole archive is refused (UploadRefused
    raised) when it is not a readable zip, has too many members, or would expand beyond
    ZIP_MAX_TOTAL_BYTES (checked as declared before reading, and as actually read). The yielded
    file is only valid until the next member is read.
    """
    try:
        archive = zipfile.ZipFile(fileobj)
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadRefused(archive_name, f"The zip archive could not be read: {exc}.") from None
    cap, per_file = settings.ZIP_MAX_TOTAL_BYTES, settings.UPLOAD_MAX_FILE_BYTES
    if len(members) > settings.ZIP_MAX_MEMBERS:
        raise UploadRefused(
            archive_name, f"The archive has {len(members)} files; the limit is {settings.ZIP_MAX_MEMBERS}."
        )
    declared = sum(m.file_size for m in members)
    if declared > cap:
        raise UploadRefused(archive_name, f"The archive expands to {declared} bytes; the limit is {cap} (zip bomb?).")
    read_total = 0
    with archive:
        for member in members:
            label = f"{archive_name}/{member.filename}"
            if _climbs_out(member.filename):
                yield label, UploadRefused(label, "The name climbs out of the archive's folder; refused.")
                continue
            if member.flag_bits & 0x1:
                yield label, UploadRefused(label, "The member is encrypted.")
                continue
            if member.filename.lower().endswith(ARCHIVE_SUFFIXES):
                yield label, UploadRefused(label, "Archives inside archives are not accepted.")
                continue
            if member.file_size > per_file:
                yield label, UploadRefused(label, f"The file has {member.file_size} bytes; the limit is {per_file}.")
                continue
            with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
                refusal, size = _member_copy(archive, member, label, spool, per_file, cap - read_total)
                if size > cap - read_total:
                    raise UploadRefused(
                        archive_name, f"The archive expands beyond the limit of {cap} bytes (zip bomb?)."
                    )
                read_total += size
                if refusal is not None:
                    yield label, refusal
                    continue
                spool.seek(0)
                yield member.filename, spool


def _member_copy(archive, member, label, spool, per_file: int, room: int) -> tuple[UploadRefused | None, int]:
    """Inflate one member into ``spool``; (refusal or None, bytes read).

    Reading stops one chunk past ``per_file`` (the member is refused) or past ``room`` (what the
    archive's total cap leaves; the caller refuses the archive), whatever the header declared.
    """
    size = 0
    try:
        with archive.open(member) as stream:
            head = stream.read(_SNIFF)
            size = len(head)
            if head.startswith(ARCHIVE_MAGIC):
                return UploadRefused(label, "Archives inside archives are not accepted."), size
            if not _looks_like_image(head):
                return UploadRefused(label, NOT_AN_IMAGE), size
            spool.write(head)
            while size <= min(per_file, room) and (chunk := stream.read(_CHUNK)):
                size += len(chunk)
                spool.write(chunk)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, zlib.error) as exc:
        return UploadRefused(label, f"The member could not be extracted: {exc}."), size
    if size > per_file:
        return UploadRefused(label, f"The file is larger than the limit of {per_file} bytes."), size
    return None, size


def _looks_like_image(head: bytes) -> bool:
    """Whether Pillow recognises a browser format from the first bytes (no decoding)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with PIL.Image.open(io.BytesIO(head)) as image:
                return image.format in BROWSER_FORMATS or image.format == "MPO"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, PIL.Image.DecompressionBombError):
        # A header that parses but whose data is cut at the sniff size is still an image.
        return _magic_image(head)


def _magic_image(head: bytes) -> bool:
    return head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    )
