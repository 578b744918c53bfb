"""Reads for the data and settings screens: what a delete would take with it, the last exports."""

from django.db.models import QuerySet

from .models import Annotation, Image, Job, Project


def images_to_delete(*, project: Project, ids=(), statuses=()) -> QuerySet[Image]:
    """The project's images named by id, or with one of the statuses; nothing when neither is given."""
    images = project.images.all()
    if ids:
        return images.filter(pk__in=ids)
    if statuses:
        return images.filter(status__in=statuses)
    return images.none()


def delete_summary(*, images: QuerySet[Image]) -> dict:
    """How many images and annotations (any state: labels and proposals) a delete of ``images`` loses."""
    return {
        "images": images.count(),
        "annotations": Annotation.objects.filter(image__in=images.values("pk")).count(),
    }


def project_delete_summary(*, project: Project) -> dict:
    summary = delete_summary(images=project.images.all())
    summary["classes"] = project.label_classes.count()
    summary["model_versions"] = project.model_versions.count()
    summary["members"] = project.memberships.count()
    return summary


def recent_exports(*, project: Project, limit: int = 10) -> list[dict]:
    """The last finished exports with their file's size (None once the file was pruned)."""
    jobs = (project.jobs.filter(kind="coco_export", state=Job.State.SUCCEEDED).exclude(result_file="")
            .only("id", "params", "finished_at", "result_file").order_by("-finished_at")[:limit])
    rows = []
    for job in jobs:
        try:
            size = job.result_file.size
        except (FileNotFoundError, OSError):
            size = None  # pruned (KEEP_EXPORTS) or removed by hand
        rows.append({"job": job, "size": size, "output": job.params.get("output", "json"),
                     "states": ", ".join(job.params.get("states") or ["accepted"]),
                     "mask_format": job.params.get("mask_format", "rle"),
                     "name": job.result_file.name.rsplit("/", 1)[-1]})
    return rows
