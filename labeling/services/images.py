"""Storing images: uploads (single files and zips), thumbnails, status, the next-image queue."""

import hashlib
import io
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import PIL.Image
import PIL.ImageOps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import Image, Project
from .uploads import CheckedImage, UploadRefused, check_image, is_zip, zip_members

log = logging.getLogger(__name__)


@dataclass
class UploadResult:
    created: list[Image] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def refuse(self, exc: UploadRefused) -> None:
        self.errors.append({"file": exc.file, "detail": exc.detail})


def image_upload(*, project: Project, user, files) -> UploadResult:
    """Store every good image of ``files`` (uploaded files; zips are opened) and report the bad ones.

    Each image is stored in its own transaction: a batch keeps its good files, and a refused
    file leaves neither a row nor a stored file behind.
    """
    result = UploadResult()
    seen: dict[str, str] = {}
    for upload in files:
        name = upload.name or "unnamed"
        head = upload.read(4)
        upload.seek(0)
        if is_zip(head):
            try:
                for member_name, data in zip_members(name, upload):
                    if isinstance(data, UploadRefused):
                        result.refuse(data)
                    else:
                        _store_checked(project, user, member_name, data, seen, result)
            except UploadRefused as exc:
                result.refuse(exc)
            continue
        if upload.size is not None and upload.size > settings.UPLOAD_MAX_FILE_BYTES:
            result.refuse(UploadRefused(name, f"The file has {upload.size} bytes; the limit is {settings.UPLOAD_MAX_FILE_BYTES}."))
            continue
        _store_checked(project, user, name.rsplit("/", 1)[-1], upload.read(), seen, result)
    if result.created:
        from mlassist.services.features import features_request

        features_request(project_id=project.pk)  # the backbone sees each new image once, in batches
    return result


def _store_checked(project, user, name, data, seen, result) -> None:
    try:
        checked = check_image(name, data)
        result.created.append(_image_store(project=project, user=user, checked=checked, seen=seen))
    except UploadRefused as exc:
        result.refuse(exc)


def _image_store(*, project: Project, user, checked: CheckedImage, seen: dict[str, str]) -> Image:
    digest = hashlib.sha256(checked.data).hexdigest()
    if digest in seen:
        raise UploadRefused(checked.name, f"The same image as {seen[digest]} in this upload.")
    existing = project.images.filter(sha256=digest).values_list("id", "file_name").first()
    if existing:
        raise UploadRefused(checked.name, f"Already in the project as image {existing[0]} ({existing[1]}).")
    image = Image(
        project=project,
        file_name=checked.name[:255],
        width=checked.width,
        height=checked.height,
        sha256=digest,
        size=len(checked.data),
        format=checked.format,
        created_by=user if user and user.is_authenticated else None,
    )
    image.file.save(f"upload.{checked.extension}", ContentFile(checked.data), save=False)
    try:
        with transaction.atomic():
            image.full_clean(exclude=["file", "thumbnail"], validate_constraints=False)
            image.save()
            from ..tasks import image_thumbnail_make_task

            image_thumbnail_make_task.delay_on_commit(image.id)
    except IntegrityError:
        image.file.storage.delete(image.file.name)
        raise UploadRefused(checked.name, "Already in the project (uploaded at the same moment).") from None
    except Exception:
        image.file.storage.delete(image.file.name)
        raise
    seen[digest] = checked.name
    return image


def image_thumbnail_make(*, image: Image) -> Image:
    """Make the grid's thumbnail; idempotent (a second run finds it made and does nothing)."""
    if image.thumbnail:
        return image
    with image.file.open("rb") as fh:
        picture = PIL.Image.open(fh)
        size = settings.THUMBNAIL_SIZE
        picture.draft("RGB", (size, size))  # JPEG decodes at a fraction of its size: much faster
        picture = PIL.ImageOps.exif_transpose(picture).convert("RGB")
        picture.thumbnail((size, size))
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=85)
    image.thumbnail.save("thumb.jpg", ContentFile(out.getvalue()), save=False)
    updated = Image.objects.filter(pk=image.pk, thumbnail="").update(thumbnail=image.thumbnail.name)
    if not updated:  # another worker made it first, or the image went away: drop our copy
        image.thumbnail.storage.delete(image.thumbnail.name)
    return image


def image_delete(*, image: Image) -> None:
    names = [n for n in (image.file.name, image.thumbnail.name) if n]
    storage = image.file.storage
    with transaction.atomic():
        image.delete()
        # Files go only once the rows are really gone.
        transaction.on_commit(lambda: [storage.delete(n) for n in names])


def image_status_set(*, image: Image, status: str) -> Image:
    if status not in Image.Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}; one of {', '.join(Image.Status.values)}."})
    image.status = status
    fields = ["status", "updated_at"]
    if status in (Image.Status.DONE, Image.Status.REVIEWED):
        image.claimed_by, image.claimed_at = None, None
        fields += ["claimed_by", "claimed_at"]
    image.save(update_fields=fields)
    return image


def image_claim_next(*, project: Project, user, skip: list[int] = ()) -> Image | None:
    """The next image for ``user`` to label, claimed so that others are given different ones.

    Order: the user's own unfinished claims first, then unclaimed (or stale) new and in-progress
    images in the project's queue order. A claim is taken by a conditional update, so two
    annotators asking at once never get the same image.
    """
    now = timezone.now()
    stale = now - timedelta(minutes=settings.IMAGE_CLAIM_MINUTES)
    open_images = project.images.filter(status__in=[Image.Status.NEW, Image.Status.IN_PROGRESS]).exclude(pk__in=skip)
    mine = open_images.filter(claimed_by=user).order_by("id").first()
    if mine:
        return mine
    free = Q(claimed_by__isnull=True) | Q(claimed_at__lt=stale)
    candidates = open_images.filter(free)
    if project.queue_order == Project.QueueOrder.RANDOM:
        candidates = candidates.order_by("?")
    elif project.queue_order == Project.QueueOrder.UNCERTAINTY:
        # The model's least certain images first (set by model assistance); unscored ones after, in order.
        candidates = candidates.order_by(F("uncertainty__margin").asc(nulls_last=True), "id")
    else:
        candidates = candidates.order_by("id")
    for candidate in candidates.values_list("id", flat=True)[:20]:
        won = (
            Image.objects.filter(pk=candidate)
            .filter(free)
            .update(claimed_by=user, claimed_at=now, status=Image.Status.IN_PROGRESS, updated_at=now)
        )
        if won:
            return Image.objects.get(pk=candidate)
    return None
