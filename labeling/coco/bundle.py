"""Our own COCO zip export (``annotations/*.json`` beside ``images/...``) taken back as it downloads.

Pure: it only looks inside the archive. The import then reads the one JSON member as the COCO file
and takes the same archive as the images zip, whose members are matched by base name.
"""

from __future__ import annotations

import tempfile
import zipfile
from typing import BinaryIO

ZIP_MAGIC = b"PK\x03\x04"


class BundleError(ValueError):
    """The zip is not a COCO bundle; ``detail`` says why in the user's words."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def is_zip(fp: BinaryIO) -> bool:
    """True when the file starts like a zip archive (the stream is left where it was)."""
    start = fp.tell()
    head = fp.read(4)
    fp.seek(start)
    return head == ZIP_MAGIC


def bundle_json_member(fp: BinaryIO) -> str:
    """The name of the archive's one COCO JSON member; refuses none or several by name."""
    try:
        with zipfile.ZipFile(fp) as archive:
            names = [i.filename for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(".json")]
    except zipfile.BadZipFile as exc:
        raise BundleError(f"The zip cannot be read: {exc}.") from None
    finally:
        fp.seek(0)
    if not names:
        raise BundleError("The zip holds no COCO JSON file (expected e.g. annotations/instances_default.json).")
    if len(names) > 1:
        raise BundleError(f"The zip holds {len(names)} JSON files ({', '.join(sorted(names)[:5])}); keep one.")
    return names[0]


def bundle_json_copy(fp: BinaryIO, *, max_bytes: int) -> tempfile.SpooledTemporaryFile:
    """Copy the archive's COCO JSON member into a temporary file, in chunks, refusing it past ``max_bytes``."""
    name = bundle_json_member(fp)
    out = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    try:
        with zipfile.ZipFile(fp) as archive:
            if archive.getinfo(name).file_size > max_bytes:
                raise BundleError(f"{name} is larger than the limit of {max_bytes} bytes.")
            with archive.open(name) as member:
                copied = 0
                while chunk := member.read(1 << 20):
                    copied += len(chunk)
                    if copied > max_bytes:  # the declared size may lie
                        raise BundleError(f"{name} is larger than the limit of {max_bytes} bytes.")
                    out.write(chunk)
    except BaseException:
        out.close()
        raise
    finally:
        fp.seek(0)
    out.seek(0)
    return out
