"""Pictures from the camera: frames (or the faces in them) stored through the upload service and
tagged with a class through the annotation service, so the same checks, dedup and rules apply."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

import numpy as np
import PIL.Image
import PIL.ImageOps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from ..camera.faces import face_crops
from ..models import Annotation, Image, LabelClass, Project
from ..names import safe_file_name
from .annotations import annotation_create
from .images import image_upload
from .uploads import UploadRefused, check_image

# A capture request is a batch of frames from one class; more would make one request a long one.
CAPTURE_MAX_FRAMES = 50


@dataclass
class CaptureResult:
    stored: list[int] = field(default_factory=list)  # image ids, tagged with the class
    duplicates: int = 0  # frames (or faces) already in the project: the camera saw the same picture
    no_face: int = 0  # frames in which face mode found no face
    faces: int = 0  # faces found (face mode)
    errors: list[dict] = field(default_factory=list)  # {"file", "detail"} of refused frames


def _faces_of(name: str, data: bytes) -> list[SimpleUploadedFile]:
    """The faces of one frame as PNG files (lossless: the crop is the stored image)."""
    checked = check_image(name, data)  # the same refusal (naming the frame) as a plain upload
    with PIL.Image.open(checked.file) as picture:
        rgb = np.asarray(PIL.ImageOps.exif_transpose(picture).convert("RGB"))
    stem = name.rsplit(".", 1)[0]
    files = []
    for i, crop in enumerate(face_crops(rgb)):
        out = io.BytesIO()
        PIL.Image.fromarray(crop).save(out, "PNG")
        files.append(SimpleUploadedFile(f"{stem}-face{i + 1}.png", out.getvalue(), content_type="image/png"))
    return files


def camera_capture(
    *, project: Project, user, label_class: LabelClass, frames: list, faces: bool = False
) -> CaptureResult:
    """Store each frame (or, with ``faces``, each face crop) as an image tagged ``label_class``.

    Frames go through labeling.services.images.image_upload (same checks, sha256 dedup: a
    camera pointed at a still scene sends the same JPEG again, counted as a duplicate, not an
    error); each stored image gets one accepted tag through annotation_create (its rules). A
    frame already stored but tagged by nobody (its request was cut short between the two) gets
    the tag now and counts as stored, so sending a frame again is always safe.
    The class is checked before anything is stored.
    """
    if label_class.project_id != project.pk:
        raise ValidationError({"label_class": f"No class {label_class.pk} in this project."})
    if "tag" not in project.kinds:
        raise ValidationError(
            {"label_class": "This project does not use tags, so captured pictures cannot be classed."})
    if not frames:
        raise ValidationError({"frames": "No frame was sent."})
    if len(frames) > CAPTURE_MAX_FRAMES:
        raise ValidationError({"frames": f"{len(frames)} frames in one request; at most {CAPTURE_MAX_FRAMES}."})
    result = CaptureResult()
    uploads, digests = [], {}
    for frame in frames:
        name = safe_file_name(frame.name or "frame.jpg")
        data = frame.read()
        if faces:
            try:
                crops = _faces_of(name, data)
            except UploadRefused as exc:
                result.errors.append({"file": exc.file, "detail": exc.detail})
                continue
            result.faces += len(crops)
            result.no_face += not crops
        else:
            crops = [SimpleUploadedFile(name, data)]
        for crop in crops:
            crop.seek(0)
            digests[crop.name] = hashlib.sha256(crop.read()).hexdigest()
            crop.seek(0)
            uploads.append(crop)
    if uploads:
        upload = image_upload(project=project, user=user, files=uploads)
        known = set(project.images.filter(sha256__in=digests.values()).values_list("sha256", flat=True))
        created = {image.pk for image in upload.created}  # a frame twice in this batch names these too
        untagged = _untagged(project, [e["image"] for e in upload.errors if e.get("image") not in created | {None}])
        to_tag = list(upload.created)
        for error in upload.errors:
            if error.get("image") in untagged:
                # Stored by an earlier request that was cut short before its tag (the page sends
                # the frame again after a crash or a lost answer): it gets its class now.
                to_tag.append(untagged.pop(error["image"]))
            elif digests.get(error["file"]) in known:
                result.duplicates += 1
            else:
                result.errors.append(error)
        for image in to_tag:
            try:
                annotation_create(image=image, user=user, data={
                    "label_class": label_class.pk, "kind": Annotation.Kind.TAG, "geometry": {},
                })
            except (ValidationError, image.DoesNotExist) as exc:  # deleted meanwhile: reported, not a 500
                detail = "; ".join(getattr(exc, "messages", [str(exc)]))
                result.errors.append({"file": image.file_name, "detail": detail})
                continue
            result.stored.append(image.pk)
    return result


def _untagged(project: Project, image_ids: list[int]) -> dict[int, Image]:
    """Those of the images (already in the project) that no person has tagged yet, by id."""
    tagged = Annotation.objects.filter(kind=Annotation.Kind.TAG, state=Annotation.State.ACCEPTED)
    images = project.images.filter(pk__in=image_ids).exclude(pk__in=tagged.filter(image_id__in=image_ids)
                                                             .values("image_id"))
    return {image.pk: image for image in images}
