"""COCO export and import of a project: gather rows from the database for the pure COCO core,
and store what it parsed, all in one transaction."""

import os
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone

import orjson

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from ..coco.export import coco_export_stream, safe_entry_names, tags_csv_stream
from ..coco.importer import CocoFormatError, coco_parse
from ..coco.rows import AnnotationRow, CategoryRow, ImageRow
from .. import selectors_coco
from ..models import Annotation, Image, Project
from ..rules import RuleError, TagItem, coco_fields, tags_check
from .bulk_rows import AnnotationRowIn, annotations_insert, created_events_insert
from .images import image_upload
from .jobs import job_progress, job_succeed
from .projects import label_class_create

EXPORT_FORMATS = ("json", "zip", "tags_csv")


def _category_ids(project: Project) -> dict[int, int]:
    """Label class id -> COCO category id: 1, 2, 3... in the classes' order, stable between exports."""
    ids = project.label_classes.order_by("order", "id").values_list("id", flat=True)
    return {class_id: n for n, class_id in enumerate(ids, 1)}


def _images(project, image_ids, states, names, file_names=None) -> Iterator[ImageRow]:
    """Images in id order, each with its image-level tags (merged from one ordered tag query).

    ``file_names`` (a zip export's entry names by image id) replace the stored names; images
    without one (uploaded after the names were chosen) are left out.
    """
    images = project.images.order_by("id")
    tags = Annotation.objects.filter(image__project=project, kind="tag", state__in=states).order_by("image_id", "id")
    if image_ids:
        images, tags = images.filter(pk__in=image_ids), tags.filter(image_id__in=image_ids)
    tag_rows = tags.values_list("image_id", "label_class_id").iterator(chunk_size=5000)
    pending = next(tag_rows, None)
    for image_id, file_name, width, height in images.values_list("id", "file_name", "width", "height").iterator(
        chunk_size=5000
    ):
        names_here = []
        while pending is not None and pending[0] <= image_id:
            if pending[0] == image_id:
                names_here.append(names[pending[1]])
            pending = next(tag_rows, None)
        if file_names is not None:
            if image_id not in file_names:
                continue
            file_name = file_names[image_id]
        yield ImageRow(id=image_id, file_name=file_name, width=width, height=height, tags=tuple(names_here))


def _annotations(project, image_ids, states, category_ids, file_names=None) -> Iterator[AnnotationRow]:
    rows = Annotation.objects.filter(image__project=project, state__in=states).exclude(kind="tag").order_by("id")
    if image_ids:
        rows = rows.filter(image_id__in=image_ids)
    # The geometry as its JSON text, decoded here by orjson: Django's JSONField converter (json.loads
    # per row) was a quarter of a 100,000-row export's time.
    rows = rows.annotate(geometry_text=Cast("geometry", TextField()))
    fields = ("id", "image_id", "label_class_id", "kind", "geometry_text", "iscrowd", "score", "state")
    loads = orjson.loads
    for pk, image_id, class_id, kind, geometry, iscrowd, score, state in rows.values_list(*fields).iterator(
        chunk_size=5000
    ):
        if file_names is not None and image_id not in file_names:
            continue
        yield AnnotationRow(
            id=pk, image_id=image_id, category_id=category_ids[class_id], kind=kind, geometry=loads(geometry),
            iscrowd=iscrowd, score=score, state=state,
        )


def coco_export_chunks(
    *, project: Project, states=("accepted",), mask_format: str = "rle", image_ids=None, file_names=None,
    stream: bool = True,
) -> Iterator[bytes]:
    """The project as a COCO instances document, as a stream of byte chunks (never whole in memory).

    ``file_names``: image id -> the name to write (a zip's entries); only those images.
    On PostgreSQL (RLE masks) the database writes each annotation's JSON (labeling.selectors_coco);
    ``stream``: read it in a transaction of its own, the first rows leaving before the last are read
    (an HTTP response); False for a job, whose progress writes must not wait for the export's commit.
    """
    category_ids = _category_ids(project)
    names = dict(project.label_classes.values_list("id", "name"))
    categories = [CategoryRow(id=category_ids[pk], name=names[pk]) for pk in category_ids]
    info = {
        "description": project.name,
        "version": "1.0",
        "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "contributor": "Annotator",
        "states": list(states),
    }
    include_scores = "proposed" in states
    images = _images(project, image_ids, states, names, file_names)
    if mask_format == "rle" and selectors_coco.supported():
        only = list(file_names) if file_names is not None else (image_ids or None)
        return coco_export_stream(
            info=info, categories=categories, images=images, include_scores=include_scores,
            annotations_text=selectors_coco.annotation_json_pieces(
                project_id=project.pk, states=states, include_scores=include_scores, image_ids=only, stream=stream,
            ),
        )
    return coco_export_stream(
        info=info,
        categories=categories,
        images=images,
        annotations=_annotations(project, image_ids, states, category_ids, file_names),
        mask_format=mask_format,
        include_scores=include_scores,
    )


def tags_csv_chunks(*, project: Project, states=("accepted",), image_ids=None) -> Iterator[bytes]:
    names = dict(project.label_classes.values_list("id", "name"))
    return tags_csv_stream(_images(project, image_ids, states, names))


def coco_export_size(*, project: Project, states, image_ids=None) -> int:
    rows = Annotation.objects.filter(image__project=project, state__in=states)
    return (rows.filter(image_id__in=image_ids) if image_ids else rows).count()


def coco_export_to_storage(*, project: Project, job_id, options: dict) -> str:
    """Write the export to a temporary file, then move it into storage whole; returns its name.

    A killed worker leaves at most a temporary file, never a half-written export under the
    final name.
    """
    fmt = options.get("output", "json")
    states = options.get("states", ["accepted"])
    image_ids = options.get("images") or None
    total = max(1, coco_export_size(project=project, states=states, image_ids=image_ids))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = f"project-{project.pk}-coco-{stamp}"
    with tempfile.NamedTemporaryFile(suffix=".part", delete=False, dir=_temp_dir()) as tmp:
        try:
            if fmt == "zip":
                name = f"{base}.zip"
                _write_zip(tmp, project, states, options.get("mask_format", "rle"), image_ids, job_id, total)
            elif fmt == "tags_csv":
                name = f"{base}-tags.csv"
                for chunk in tags_csv_chunks(project=project, states=states, image_ids=image_ids):
                    tmp.write(chunk)
            else:
                name = f"{base}.json"
                _write_json(tmp, project, states, options.get("mask_format", "rle"), image_ids, job_id, total)
            tmp.flush()
            tmp.seek(0)
            return default_storage.save(f"exports/{project.pk}/{name}", File(tmp, name=name))
        finally:
            tmp.close()
            os.unlink(tmp.name)


def _temp_dir() -> str:
    path = os.path.join(settings.VAR_DIR, "tmp")
    os.makedirs(path, exist_ok=True)
    return path


def _write_json(out, project, states, mask_format, image_ids, job_id, total, file_names=None) -> None:
    written = 0
    for chunk in coco_export_chunks(
        project=project, states=states, mask_format=mask_format, image_ids=image_ids, file_names=file_names,
        stream=False,
    ):
        out.write(chunk)
        written += chunk.count(b'"category_id"')
        if job_id:
            job_progress(job_id=job_id, progress=0.95 * written / total, detail=f"{written}/{total} annotations")


def _write_zip(out, project, states, mask_format, image_ids, job_id, total) -> None:
    """The JSON and the images, each under a safe, unique entry name that its ``file_name`` repeats.

    Stored names may hold folders, ``..``, absolute paths or duplicates (two uploads of one
    name): as zip entries those would unpack outside the folder or overwrite each other.
    """
    images = project.images.order_by("id")
    if image_ids:
        images = images.filter(pk__in=image_ids)
    entry_names = safe_entry_names(images.values_list("id", "file_name").iterator(chunk_size=5000))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        with archive.open("annotations/instances_default.json", "w", force_zip64=True) as member:
            _write_json(member, project, states, mask_format, image_ids, None, total, entry_names)
        count = len(entry_names) or 1
        n = 0
        for image in images.iterator(chunk_size=500):
            if image.pk not in entry_names:  # uploaded after the names were chosen: not in the JSON either
                continue
            n += 1
            name = f"images/{entry_names[image.pk]}"
            with image.file.open("rb") as src, archive.open(name, "w", force_zip64=True) as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    dst.write(block)
            if job_id:
                job_progress(job_id=job_id, progress=0.95 * n / count, detail=f"{n}/{count} images")


class CocoImportError(ValueError):
    """A refused import; ``problems`` lists every refused element found, ``path``/``detail`` the first.

    Its text (what a failed job shows) names each of them, one a line.
    """

    def __init__(self, path: str, detail: str, problems: list[tuple[str, str]] | None = None):
        self.problems = problems or [(path, detail)]
        super().__init__("\n".join(f"{p}: {d}" for p, d in self.problems))
        self.path = path
        self.detail = detail


def coco_import(*, project: Project, user, coco_file, images_zip=None, job_id=None) -> dict:
    """Import a COCO instances file (and optionally a zip of its images) into ``project``.

    All or nothing: any problem raises CocoImportError naming the element, and nothing is kept
    (images stored from the zip are removed again).
    """
    try:
        parsed = coco_parse(
            coco_file, max_bytes=settings.COCO_IMPORT_MAX_BYTES, max_depth=getattr(settings, "JSON_MAX_DEPTH", 64),
            max_points=settings.POLYGON_MAX_POINTS,
        )
    except CocoFormatError as exc:
        raise CocoImportError(exc.path, exc.detail, exc.problems) from None
    if job_id:
        job_progress(job_id=job_id, progress=0.3, detail="File read; storing")
    stored_files: list[str] = []
    try:
        with transaction.atomic():
            result = _store_parsed(project, user, parsed, images_zip, stored_files)
            if job_id:  # commits with the import: a redelivered task then finds the job done
                job_succeed(job_id=job_id, result=result)
    except Exception:
        for name in stored_files:
            default_storage.delete(name)
        raise
    return result


def _store_parsed(project, user, parsed, images_zip, stored_files) -> dict:
    zip_errors = []
    if images_zip is not None:
        uploaded = image_upload(project=project, user=user, files=[images_zip])
        stored_files.extend(image.file.name for image in uploaded.created)
        zip_errors = [e for e in uploaded.errors if not e["detail"].startswith("Already in the project")]
    by_name = {name: (pk, w, h) for pk, name, w, h in project.images.values_list("id", "file_name", "width", "height")}
    image_map = {}
    for i, image in enumerate(parsed.images):
        found = by_name.get(image.file_name) or by_name.get(image.file_name.rsplit("/", 1)[-1])
        if found is None:
            why = f" (the images zip refused it: {zip_errors[0]['detail']})" if zip_errors else ""
            raise CocoImportError(
                f"images[{i}].file_name",
                f"No image called {image.file_name!r} in the project; upload it first or send the images zip{why}.",
            )
        pk, width, height = found
        if (image.width, image.height) != (width, height):
            raise CocoImportError(
                f"images[{i}]", f"{image.file_name!r} is {width}×{height} here, the file says {image.width}×{image.height}."
            )
        image_map[image.id] = (pk, image, i)

    classes = {c.name: c for c in project.label_classes.all()}
    class_map, created_classes = {}, []
    for category in parsed.categories:
        if category.name not in classes:
            classes[category.name] = label_class_create(project=project, name=category.name)
            created_classes.append(category.name)
        class_map[category.id] = classes[category.name].pk

    kinds_used = set(project.kinds)
    rows = []
    user_id = user.pk if user is not None and user.is_authenticated else None
    for i, annotation in enumerate(parsed.annotations):
        if annotation.kind not in kinds_used:
            raise CocoImportError(
                f"annotations[{i}]", f"A {annotation.kind} annotation, but this project does not use {annotation.kind}s."
            )
        bbox, area = coco_fields(annotation.kind, annotation.geometry)
        rows.append(AnnotationRowIn(
            image_id=image_map[annotation.image_id][0], label_class_id=class_map[annotation.category_id],
            kind=annotation.kind, geometry=annotation.geometry, outline=annotation.outline, iscrowd=annotation.iscrowd,
            origin=Annotation.Origin.HUMAN, state=Annotation.State.ACCEPTED, created_by_id=user_id,
            coco_bbox=bbox, coco_area=area,
        ))
    tags = []
    for pk, image, i in image_map.values():
        if image.tags and "tag" not in kinds_used:
            raise CocoImportError(f"images[{i}].attributes.tags", "Image tags, but this project does not use tags.")
        for k, tag in enumerate(image.tags):
            if tag not in classes:
                classes[tag] = label_class_create(project=project, name=tag)
                created_classes.append(tag)
            tags.append(TagItem(f"images[{i}].attributes.tags[{k}]", pk, classes[tag].pk, tag, f"Image {image.file_name!r}"))
            rows.append(AnnotationRowIn(image_id=pk, label_class_id=classes[tag].pk, kind="tag", geometry={},
                                        outline=None, origin=Annotation.Origin.HUMAN,
                                        state=Annotation.State.ACCEPTED, created_by_id=user_id))
    _check_tags(project, tags)
    # Plain rows by COPY on PostgreSQL (labeling/services/bulk_rows.py): a model instance per row and
    # bulk_create's per-value preparation were most of the storing time.
    try:
        with transaction.atomic():  # a savepoint: a refused row ends in CocoImportError, not a broken transaction
            ids = annotations_insert(rows, return_ids=True)
    except IntegrityError as exc:  # the rules above should have said why; never a 500
        raise CocoImportError("annotations", f"Refused by the database: {exc}") from None
    created_events_insert(ids=ids, rows=rows, project_id=project.pk, actor_id=user_id, source="coco import")
    Image.objects.filter(pk__in=[pk for pk, _, _ in image_map.values()], status=Image.Status.NEW).update(
        status=Image.Status.IN_PROGRESS
    )
    return {"annotations": len(ids), "images": len(image_map), "classes_created": created_classes}


def _check_tags(project, tags: list[TagItem]) -> None:
    """The tag rules (labeling.rules.tags_check) against the tags the images already have."""
    if not tags:
        return
    existing: dict[int, dict[int, str]] = {}
    rows = Annotation.objects.filter(
        image_id__in={t.image for t in tags}, kind="tag", state=Annotation.State.ACCEPTED
    ).values_list("image_id", "label_class_id", "label_class__name")
    for image_id, class_id, name in rows:
        existing.setdefault(image_id, {})[class_id] = name
    try:
        tags_check(multilabel=project.multilabel, existing=existing, new=tags)
    except RuleError as exc:
        raise CocoImportError(exc.path, exc.detail) from None


def coco_export_start(*, project: Project, user, options: dict):
    """Queue an export job; the task writes the file and the job links to it."""
    from ..tasks import coco_export_task
    from .jobs import job_create

    with transaction.atomic():
        job = job_create(project=project, kind="coco_export", user=user, params=options)
        coco_export_task.delay_on_commit(str(job.pk))
    return job


def coco_export_job(*, job_id) -> None:
    from .jobs import job_run

    def work(job):
        name = coco_export_to_storage(project=job.project, job_id=job.pk, options=job.params)
        return {"file": name.rsplit("/", 1)[-1]}, name

    job_run(job_id=job_id, work=work)


def coco_import_start(*, project: Project, user, coco_file, images_zip=None):
    """Keep the uploaded files in storage and queue an import job for them."""
    from ..tasks import coco_import_task
    from .jobs import job_create

    params = {"coco": default_storage.save(f"imports/{project.pk}/coco.json", coco_file)}
    if images_zip is not None:
        params["images"] = default_storage.save(f"imports/{project.pk}/images.zip", images_zip)
    with transaction.atomic():
        job = job_create(project=project, kind="coco_import", user=user, params=params)
        coco_import_task.delay_on_commit(str(job.pk))
    return job


def coco_import_job(*, job_id) -> None:
    from .jobs import job_run

    def work(job):
        images = default_storage.open(job.params["images"], "rb") if job.params.get("images") else None
        try:
            with default_storage.open(job.params["coco"], "rb") as coco_file:
                result = coco_import(
                    project=job.project, user=job.created_by, coco_file=coco_file, images_zip=images, job_id=job.pk
                )
        finally:
            if images is not None:
                images.close()
        for name in job.params.values():
            default_storage.delete(name)
        return result, ""

    job_run(job_id=job_id, work=work)
