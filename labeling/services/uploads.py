"""Checking uploaded files before anything is stored: images that Pillow decodes, safe zips.

Nothing here writes to storage or the database; it turns uploads into (name, bytes) pairs
that are known to be decodable images, or into refusals that name the file and the reason.
"""

import io
import posixpath
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import PIL.Image
from django.conf import settings
from PIL import UnidentifiedImageError

# Formats every current browser can show: an image the annotator cannot see cannot be labelled.
BROWSER_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}
# Magic numbers of archives and compressed files that must not hide inside a zip.
ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


class UploadRefused(Exception):
    def __init__(self, file: str, detail: str):
        super().__init__(f"{file}: {detail}")
        self.file = file
        self.detail = detail


@dataclass(frozen=True)
class CheckedImage:
    name: str
    data: bytes
    width: int
    height: int
    format: str

    @property
    def extension(self) -> str:
        return BROWSER_FORMATS[self.format]


def check_image(name: str, data: bytes) -> CheckedImage:
    """Decode the whole image with Pillow; refuse anything that is not a complete, sane image."""
    if not data:
        raise UploadRefused(name, "The file is empty.")
    if len(data) > settings.UPLOAD_MAX_FILE_BYTES:
        raise UploadRefused(name, f"The file has {len(data)} bytes; the limit is {settings.UPLOAD_MAX_FILE_BYTES}.")
    limit = settings.IMAGE_MAX_PIXELS
    # Pillow's own guard then fires at our limit, before it allocates anything.
    PIL.Image.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            image = PIL.Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limit:
                raise UploadRefused(
                    name, f"The image is {width}×{height} = {width * height} pixels, over the limit of {limit}."
                )
            if image.format not in BROWSER_FORMATS:
                raise UploadRefused(
                    name, f"{image.format} images are not supported; use {', '.join(sorted(BROWSER_FORMATS))}."
                )
            image.load()  # decodes every pixel: truncated or corrupt data fails here
            orientation = image.getexif().get(0x0112)
    except UploadRefused:
        raise
    except UnidentifiedImageError:
        raise UploadRefused(name, "This is not an image that can be decoded (JPEG, PNG, GIF, WebP or BMP).") from None
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
        raise UploadRefused(name, f"The image has more pixels than allowed: over the limit of {limit}.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UploadRefused(name, f"The image could not be decoded: {exc}.") from None
    if orientation in _ROTATED:
        width, height = height, width  # browsers show the rotated image, so its size is what we label
    return CheckedImage(name=name, data=data, width=width, height=height, format=image.format)


def is_zip(data_head: bytes) -> bool:
    return data_head.startswith(b"PK\x03\x04") or data_head.startswith(b"PK\x05\x06")


def _safe_member_name(name: str) -> str | None:
    """The member's path inside the archive, or None when it would climb out of the folder."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    normalised = posixpath.normpath(name.replace("\\", "/"))
    if normalised.startswith("../") or normalised == ".." or "/../" in f"/{normalised}/":
        return None
    return normalised


def zip_members(archive_name: str, fileobj) -> Iterator[tuple[str, bytes | UploadRefused]]:
    """Yield (member name, bytes) for each file of a zip, or (name, UploadRefused) for a bad member.

    The whole archive is refused (UploadRefused raised) when it is not a readable zip, has too
    many members, or would expand beyond ZIP_MAX_TOTAL_BYTES (the sizes a zip bomb lies about
    are checked twice: as declared before reading, and as actually read).
    """
    try:
        archive = zipfile.ZipFile(fileobj)
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadRefused(archive_name, f"The zip archive could not be read: {exc}.") from None
    cap = settings.ZIP_MAX_TOTAL_BYTES
    if len(members) > settings.ZIP_MAX_MEMBERS:
        raise UploadRefused(archive_name, f"The archive has {len(members)} files; the limit is {settings.ZIP_MAX_MEMBERS}.")
    declared = sum(m.file_size for m in members)
    if declared > cap:
        raise UploadRefused(archive_name, f"The archive expands to {declared} bytes; the limit is {cap} (zip bomb?).")
    read_total = 0
    with archive:
        for member in members:
            label = f"{archive_name}/{member.filename}"
            name = _safe_member_name(member.filename)
            if name is None:
                yield label, UploadRefused(label, "The name climbs out of the archive's folder; refused.")
                continue
            if member.flag_bits & 0x1:
                yield label, UploadRefused(label, "The member is encrypted.")
                continue
            if name.lower().endswith(ARCHIVE_SUFFIXES):
                yield label, UploadRefused(label, "Archives inside archives are not accepted.")
                continue
            try:
                with archive.open(member) as stream:
                    # Read at most one byte past what is allowed, whatever the header declared.
                    allowed = min(settings.UPLOAD_MAX_FILE_BYTES, cap - read_total)
                    data = stream.read(allowed + 1)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
                yield label, UploadRefused(label, f"The member could not be extracted: {exc}.")
                continue
            if len(data) > allowed:
                raise UploadRefused(archive_name, f"The archive expands beyond the limit of {cap} bytes (zip bomb?).")
            read_total += len(data)
            if data.startswith(ARCHIVE_MAGIC):
                yield label, UploadRefused(label, "Archives inside archives are not accepted.")
                continue
            yield name, data
