"""Storing images: uploads (single files and zips), thumbnails, status, the next-image queue."""

import io
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import PIL.Image
import PIL.ImageOps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import learning_loop
from ..models import Image, Project
from .uploads import CheckedImage, DuplicateImage, UploadRefused, check_image, is_zip, zip_members

log = logging.getLogger(__name__)


@dataclass
class UploadResult:
    created: list[Image] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def refuse(self, exc: UploadRefused) -> None:
        error = {"file": exc.file, "detail": exc.detail}
        if getattr(exc, "image_id", None):  # a duplicate: the image that already holds this content
            error["image"] = exc.image_id
        self.errors.append(error)


def image_upload(*, project: Project, user, files) -> UploadResult:
    """Store every good image of ``files`` (uploaded files; zips are opened) and report the bad ones.

    Each image is stored in its own transaction: a batch keeps its good files, and a refused
    file leaves neither a row nor a stored file behind. Files are read as streams (zip members
    through spooled temporary files), never whole into memory.
    """
    result = UploadResult()
    seen: dict[str, str] = {}
    for upload in files:
        name = upload.name or "unnamed"
        head = upload.read(4)
        upload.seek(0)
        if is_zip(head):
            try:
                for member_name, member in zip_members(name, upload):
                    if isinstance(member, UploadRefused):
                        result.refuse(member)
                    else:
                        _store_checked(project, user, f"{name}/{member_name}", member, seen, result)
            except UploadRefused as exc:
                result.refuse(exc)
            continue
        if upload.size is not None and upload.size > settings.UPLOAD_MAX_FILE_BYTES:
            result.refuse(UploadRefused(name, f"The file has {upload.size} bytes; the limit is {settings.UPLOAD_MAX_FILE_BYTES}."))
            continue
        _store_checked(project, user, name, upload, seen, result)
    if result.created:
        learning_loop.images_added(project_id=project.pk)
    return result


def _store_checked(project, user, name, source, seen, result) -> None:
    try:
        checked = check_image(name, source)  # stored under a safe base name (labeling.names)
        result.created.append(_image_store(project=project, user=user, checked=checked, seen=seen))
    except UploadRefused as exc:
        result.refuse(exc)


def _image_store(*, project: Project, user, checked: CheckedImage, seen: dict[str, str]) -> Image:
    digest = checked.sha256
    existing = project.images.filter(sha256=digest).values_list("id", "file_name").first()
    if digest in seen:
        same = f"The same image as {seen[digest]} in this upload."
        raise DuplicateImage(checked.name, same, existing and existing[0])
    if existing:
        already = f"Already in the project as image {existing[0]} ({existing[1]})."
        raise DuplicateImage(checked.name, already, existing[0])
    image = Image(
        project=project,
        file_name=checked.name[:255],
        width=checked.width,
        height=checked.height,
        sha256=digest,
        size=checked.size,
        format=checked.format,
        created_by=user if user and user.is_authenticated else None,
    )
    checked.file.seek(0)
    image.file.save(f"upload.{checked.extension}", File(checked.file), save=False)
    try:
        with transaction.atomic():
            image.full_clean(exclude=["file", "thumbnail"], validate_constraints=False)
            image.save()
            from ..tasks import image_thumbnail_make_task

            image_thumbnail_make_task.delay_on_commit(image.id)
    except IntegrityError:
        image.file.storage.delete(image.file.name)
        raise DuplicateImage(checked.name, "Already in the project (uploaded at the same moment).") from None
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
        out = io.BytesIO()
        thumbnail_of(fh, settings.THUMBNAIL_SIZE).save(out, "JPEG", quality=85)
    image.thumbnail.save("thumb.jpg", ContentFile(out.getvalue()), save=False)
    updated = Image.objects.filter(pk=image.pk, thumbnail="").update(thumbnail=image.thumbnail.name)
    if not updated:  # another worker made it first, or the image went away: drop our copy
        image.thumbnail.storage.delete(image.thumbnail.name)
    return image


def thumbnail_of(fh, size: int) -> PIL.Image.Image:
    """The image reduced to fit ``size``×``size``, upright, RGB, in bounded memory.

    Decoded reduced (JPEG at 1/2..1/8 scale, PNG strip by strip: mlassist/ml/decode.py, pure
    Pillow), so the rotation and colour conversion work on the small image.
    """
    picture, _, orientation = learning_loop.decode_reduced(fh, size)
    picture.thumbnail((size, size))
    if orientation != 1:
        picture.getexif()[0x0112] = orientation
        picture = PIL.ImageOps.exif_transpose(picture)
    return picture.convert("RGB")


def image_delete(*, image: Image) -> None:
    """Delete the image, its annotations and (after commit) its files.

    The image row is locked first, so a save on the image that is under way finishes before
    the delete collects the annotations (and is deleted with them), and a save that comes later
    finds the image gone (see annotations._lock_image): never a dangling row or a 500.
    """
    names = [n for n in (image.file.name, image.thumbnail.name) if n]
    storage = image.file.storage
    with transaction.atomic():
        if not Image.objects.select_for_update().filter(pk=image.pk).exists():
            raise Image.DoesNotExist(f"Image {image.pk} was deleted by someone else.")
        image.delete()
        # Files go only once the rows are really gone.
        transaction.on_commit(lambda: [storage.delete(n) for n in names])


def image_status_set(*, image: Image, status: str) -> Image:
    """Set the status; done and reviewed release the image's claim. Who may is permissions.can_set_image_status."""
    if status not in Image.Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}; one of {', '.join(Image.Status.values)}."})
    changes = {"status": status, "updated_at": timezone.now()}
    if status in (Image.Status.DONE, Image.Status.REVIEWED):
        changes.update(claimed_by=None, claimed_at=None)
    # An UPDATE by id rather than save(update_fields=...): an image deleted meanwhile is a clean
    # "not found", not Django's "did not affect any rows" error.
    if not Image.objects.filter(pk=image.pk).update(**changes):
        raise Image.DoesNotExist(f"Image {image.pk} was deleted by someone else.")
    for name, value in changes.items():
        setattr(image, name, value)
    return image


# How many image ids ?skip= may name; the last ones given count (the workspace appends as it skips).
MAX_SKIP = 100


def image_claim_next(*, project: Project, user, skip: list[int] = ()) -> Image | None:
    """The next image for ``user`` to label, claimed so that others are given different ones.

    Order: the user's own unfinished claim first, then unclaimed (or stale) new and in-progress
    images in the project's queue order. A claim is taken by a conditional update, so two
    annotators asking at once never get the same image. A user holds at most one claim per
    project: taking a new one (skipping the old) releases the others, so nobody can hold the
    whole queue by skipping through it. ``skip`` keeps only its last MAX_SKIP ids; ids of other
    projects' images match nothing here and change nothing.
    """
    skip = list(skip)[-MAX_SKIP:]
    now = timezone.now()
    stale = now - timedelta(minutes=settings.IMAGE_CLAIM_MINUTES)
    open_images = project.images.filter(status__in=[Image.Status.NEW, Image.Status.IN_PROGRESS]).exclude(pk__in=skip)
    mine = open_images.filter(claimed_by=user).order_by("id").first()
    if mine:
        _release_claims(project, user, keep=mine.pk)
        mine.resumed = True  # the queue's answer says why: the user's own unfinished image, not the order
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
            # After winning, never before: two requests of one user at once can then leave at most
            # one claim (each releases all but its own after taking it), never two.
            _release_claims(project, user, keep=candidate)
            image = Image.objects.filter(pk=candidate).first()
            if image is not None:  # deleted in between: try the next one
                image.resumed = False
                return image
    _release_claims(project, user, keep=None)
    return None


def _release_claims(project: Project, user, *, keep: int | None) -> None:
    held = Image.objects.filter(project=project, claimed_by=user)
    if keep is not None:
        held = held.exclude(pk=keep)
    held.update(claimed_by=None, claimed_at=None)
