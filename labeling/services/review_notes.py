"""Review at image level: a reviewer marks a whole image reviewed, or sends it back with a comment.

The verdict and the image's status change together (one transaction): an image is never "reviewed"
without its note, nor sent back while still counted as done. Who may is the API's REVIEW role
(labeling/permissions.py); the status rules themselves stay in images.image_status_set.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Image, ImageReviewNote
from .images import image_status_set

MAX_NOTE_CHARS = 4000


def image_review_set(*, image: Image, user, verdict: str, text: str = "") -> ImageReviewNote:
    """Record ``verdict`` on ``image`` and move its status: reviewed, or back to in progress.

    Either verdict closes the notes still open on the image (they were answered: by a review, or
    by a newer comment that replaces them), so the annotator sees one current request at a time.
    """
    text = (text or "").strip()
    errors = {}
    if verdict not in ImageReviewNote.Verdict.values:
        errors["verdict"] = f"Unknown verdict {verdict!r}; one of {', '.join(ImageReviewNote.Verdict.values)}."
    elif verdict == ImageReviewNote.Verdict.SENT_BACK and not text:
        errors["text"] = "Say what to fix: the annotator sees this comment when they open the image."
    if len(text) > MAX_NOTE_CHARS:
        errors["text"] = f"The comment has {len(text)} characters; at most {MAX_NOTE_CHARS}."
    if errors:
        raise ValidationError(errors)
    status = Image.Status.REVIEWED if verdict == ImageReviewNote.Verdict.REVIEWED else Image.Status.IN_PROGRESS
    with transaction.atomic():
        # Lock the image row: two reviewers judging at once leave one open note, not two.
        Image.objects.select_for_update().filter(pk=image.pk).first()
        image_status_set(image=image, status=status)
        ImageReviewNote.objects.filter(image=image, resolved=False).update(resolved=True)
        return ImageReviewNote.objects.create(
            image=image, author=user, verdict=verdict, text=text,
            resolved=verdict == ImageReviewNote.Verdict.REVIEWED,
        )
