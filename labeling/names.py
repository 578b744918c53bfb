"""File names from outside (uploads, zip members, URLs, COCO files) made safe once, where they come in.

An image's file name ends up in exports (COCO zips: a member per image), in Content-Disposition
headers and on screen. A name like ``../../../tmp/x.png`` or ``/etc/cron.d/x.png`` (a URL's
``%2F`` decoded into ``/``) must never become a path, so every ingest stores only a plain base
name: no folders, no control characters, no leading dots, no ``..``, a bounded length that keeps
the extension.
"""

import re
import unicodedata
from urllib.parse import unquote

MAX_NAME_LENGTH = 200
# C0/C1 controls, and the invisible characters that reorder or hide text (a name shown as
# "photo_gnp.exe" that is "photo_\u202eexe.png").
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
# Characters Windows refuses in names: an export unzipped there must not fail or misplace files.
_WINDOWS = re.compile(r'[<>:"|?*]')


def safe_file_name(raw: str, *, extension: str = "", percent_encoded: bool = False) -> str:
    """A plain base name for ``raw``: what an image is stored and exported as.

    Args:
        extension: the format's extension (``png``): added when the name has none, and used for
            ``image.<ext>`` when nothing of the name is left.
        percent_encoded: ``raw`` is a URL path segment; it is decoded once (``%252F`` stays ``%2F``),
            and only then are folders taken off, so an encoded ``/`` cannot make a path.
    """
    name = unquote(raw) if percent_encoded else raw
    name = unicodedata.normalize("NFC", name)
    name = _INVISIBLE.sub("", name)
    name = re.split(r"[/\\]", name)[-1]  # the base name after both kinds of separator
    name = _WINDOWS.sub("_", name)
    name = re.sub(r"\.{2,}", ".", name)  # no ".." anywhere
    name = name.strip().rstrip(". ")  # no trailing dots or spaces (Windows drops them)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem.lstrip(". ")  # no hidden files: ".png" is an image called "image.png"
    ext = ext.strip()[:16]
    if not ext and extension:
        ext = extension
    if not stem:
        stem = "image"
    room = MAX_NAME_LENGTH - (len(ext) + 1 if ext else 0)
    return f"{stem[:room].rstrip('. ') or 'image'}.{ext}" if ext else stem[:MAX_NAME_LENGTH]
