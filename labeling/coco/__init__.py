"""Pure COCO core: rows in, a streamed COCO instances document out, and a validated parse back.

No Django and no ORM here; the server's services gather rows and store what comes back.
"""

from .export import coco_export_stream, tags_csv_stream
from .importer import CocoFormatError, coco_parse
from .rows import AnnotationRow, CategoryRow, ImageRow, ParsedAnnotation, ParsedCoco

__all__ = [
    "AnnotationRow",
    "CategoryRow",
    "CocoFormatError",
    "ImageRow",
    "ParsedAnnotation",
    "ParsedCoco",
    "coco_export_stream",
    "coco_parse",
    "tags_csv_stream",
]
