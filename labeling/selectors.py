"""Reads of the labelling domain, scoped to what the user may see."""

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .models import Annotation, AnnotationEvent, Image, Job, LabelClass, Membership, Project
from .permissions import role_in, visible_projects


def project_list(*, user) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    my_role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]

    def images(**where):
        # A count per project from the (project, status) index; a join with COUNT(DISTINCT) read
        # every image row of every project (240 ms for one project of 100,000 images, on every
        # page and API call that finds its project here).
        counted = Image.objects.filter(project=OuterRef("pk"), **where).order_by().values("project")
        return Coalesce(Subquery(counted.annotate(n=Count("*")).values("n"), output_field=IntegerField()), 0)

    return visible_projects(user).annotate(
        my_role=Subquery(my_role),
        image_count=images(),
        done_count=images(status__in=["done", "reviewed"]),
    ).order_by("-created_at", "-id")


def project_get(*, user, project_id) -> Project:
    """The project, or Project.DoesNotExist for ids the user cannot see (the API answers 404)."""
    return visible_projects(user).get(pk=project_id)


def image_list(*, project: Project) -> QuerySet[Image]:
    has_labels = Annotation.objects.filter(image=OuterRef("pk"), state=Annotation.State.ACCEPTED)
    proposals = Annotation.objects.filter(image=OuterRef("pk"), state=Annotation.State.PROPOSED)
    return (
        project.images.annotate(
            annotation_count=Count("annotations", filter=Q(annotations__state=Annotation.State.ACCEPTED)),
            has_labels=Exists(has_labels),
            has_proposals=Exists(proposals),
        )
        .select_related("claimed_by")
        .order_by("id")
    )


def images_visible(*, user) -> QuerySet[Image]:
    return Image.objects.filter(project__in=visible_projects(user)).select_related("project")


def annotation_get(*, user, annotation_id) -> Annotation:
    """The annotation, or Annotation.DoesNotExist when it is not in one of the user's projects.

    One join and one membership look-up (cached on the user): this sits on the autosave path.
    """
    annotation = Annotation.objects.select_related("image__project", "created_by").get(pk=annotation_id)
    if role_in(user, annotation.image.project) is None:
        raise Annotation.DoesNotExist
    return annotation


def annotation_list(*, image: Image | None = None, project: Project | None = None) -> QuerySet[Annotation]:
    queryset = Annotation.objects.select_related("created_by").order_by("id")
    if image is not None:
        queryset = queryset.filter(image=image)
    if project is not None:
        queryset = queryset.filter(image__project=project)
    return queryset


def membership_list(*, project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("user__username")


def label_class_list(*, project: Project) -> QuerySet[LabelClass]:
    return project.label_classes.order_by("order", "id")


def annotation_events(*, annotation_id: int) -> QuerySet[AnnotationEvent]:
    return AnnotationEvent.objects.filter(annotation_id=annotation_id).select_related("actor").order_by("id")


def project_stats(*, project: Project) -> dict:
    """Counts by image status, by class (accepted labels) and by annotation state.

    Two grouped counts: images by status ((project, status) index) and annotations by class,
    state and kind in one pass over the (label_class, state, kind) index; a project's annotations
    are those of its classes, so no join of the images. At a million annotations this was three
    scans of the annotations joined to their images (bench.pages).
    """
    by_status = dict(project.images.values_list("status").annotate(n=Count("*")).order_by())
    per_class = {
        row["id"]: {**row, "accepted": 0, "proposed": 0}
        for row in project.label_classes.order_by("id").values("id", "name", "color")
    }
    by_state = dict.fromkeys(Annotation.State.values, 0)
    by_kind = dict.fromkeys(Annotation.Kind.values, 0)
    counts = (
        Annotation.objects.filter(label_class_id__in=list(per_class))
        .values_list("label_class_id", "state", "kind").annotate(n=Count("*")).order_by()
    )
    for class_id, state, kind, n in counts:
        by_state[state] = by_state.get(state, 0) + n
        if state == Annotation.State.ACCEPTED:
            by_kind[kind] = by_kind.get(kind, 0) + n
            per_class[class_id]["accepted"] += n
        elif state == Annotation.State.PROPOSED:
            per_class[class_id]["proposed"] += n
    images_total = sum(by_status.values())
    return {
        "images": images_total,
        "by_status": {s: by_status.get(s, 0) for s in Image.Status.values},
        "by_state": by_state,
        "by_kind": by_kind,
        "by_class": list(per_class.values()),
        "progress": (by_status.get("done", 0) + by_status.get("reviewed", 0)) / images_total if images_total else 0.0,
    }


ANNOTATION_FIELDS = (
    "id", "image", "label_class", "kind", "geometry", "iscrowd", "origin", "state", "score", "model_version",
    "version", "created_at", "updated_at",
)


def annotation_rows(*, image: Image) -> bytes:
    """An image's annotations as the API's JSON array, encoded here, without a serializer per row.

    The workspace loads thousands of shapes at once and waits for them before its first paint.
    The geometry is taken from the database as JSON text and put into the output as it is
    (orjson.Fragment): never parsed into Python objects and encoded again, which was most of the
    time. The other fields are encoded by orjson, datetimes as DRF writes them (UTC as ``Z``).
    """
    import orjson
    from django.db.models import F, TextField
    from django.db.models.functions import Cast

    fields = [f for f in ANNOTATION_FIELDS if f != "geometry"]
    rows = (
        Annotation.objects.filter(image=image).order_by("id")
        .annotate(geometry_json=Cast("geometry", TextField()), created_by_name=F("created_by__username"))
        .values_list(*fields, "geometry_json", "created_by_name")
    )
    out = []
    for values in rows:
        row = dict(zip(fields, values[:-2]))
        row["geometry"] = orjson.Fragment(values[-2])
        row["created_by"] = values[-1]
        out.append(row)
    return orjson.dumps(out, option=orjson.OPT_UTC_Z)


def job_list(*, project: Project) -> QuerySet[Job]:
    """A project's jobs, newest first, without the possibly large ``result`` (lists leave it out) and
    ``params`` (a URL import's list: up to URL_IMPORT_MAX_LIST_BYTES, never shown)."""
    return project.jobs.defer("result", "params").order_by("-created_at")


QUEUE_REASON = {
    Project.QueueOrder.SEQUENTIAL: "Next in the queue's order (the order images came in).",
    Project.QueueOrder.RANDOM: "Picked at random among the open images.",
}
HEAD_NAMES = {"classifier": "tags", "detector": "boxes", "segmenter": "masks"}


def queue_reason(*, project: Project, image: Image, resumed: bool = False) -> dict:
    """Why the queue handed ``image`` out: its order and, for the uncertainty order, the serving
    model's margin on it (0: a coin toss) and that model's version. At most one query."""
    reason = {"order": project.queue_order, "resumed": resumed, "margin": None, "model_version": None,
              "head": None}
    if resumed:
        return {**reason, "detail": "Your unfinished image from the queue: you had taken it and not finished it."}
    if project.queue_order != Project.QueueOrder.UNCERTAINTY:
        return {**reason, "detail": QUEUE_REASON[project.queue_order]}
    row = (Image.objects.filter(pk=image.pk)
           .values("uncertainty__margin", "uncertainty__model_version__number", "uncertainty__model_version__kind")
           .first()) or {}
    margin = row.get("uncertainty__margin")
    if margin is None:
        return {**reason, "detail": "The model has not scored this image yet: the images it scored come first, "
                                    "least certain first, then the others in the order they came in."}
    head = row["uncertainty__model_version__kind"]
    return {**reason, "margin": round(margin, 4), "model_version": row["uncertainty__model_version__number"],
            "head": head, "detail": f"Chosen because the model is unsure: margin {margin:.2f} "
                                    f"({HEAD_NAMES.get(head, head)} v{row['uncertainty__model_version__number']})."}


def uncertainty_queue_head(*, project: Project, limit: int = 10) -> list[dict]:
    """The open images the model is least sure of, as the uncertainty-first queue would hand them out.

    One query. ``margin`` is the gap between the model's two likeliest answers (0: a coin toss),
    written by model assistance when it proposes; images it has not scored are left out here.
    """
    rows = (
        project.images.filter(status__in=[Image.Status.NEW, Image.Status.IN_PROGRESS], uncertainty__isnull=False)
        .order_by("uncertainty__margin", "id")
        .values("id", "file_name", "status", "claimed_by__username", "uncertainty__margin")[:limit]
    )
    return [
        {"id": r["id"], "file_name": r["file_name"], "status": Image.Status(r["status"]).label,
         "claimed_by": r["claimed_by__username"], "margin": r["uncertainty__margin"]}
        for r in rows
    ]


# Two events of one person closer than this count as one stretch of work; a longer gap is a pause.
ACTIVE_GAP_SECONDS = 5 * 60


def annotator_stats(*, project: Project, days: int = 30, now=None) -> dict:
    """What each person did in the project over the last ``days`` days (UTC), in total and per day.

    From the audit trail: labels made (annotations a person created), proposals accepted and
    rejected (a state change from ``proposed``; editing a proposal accepts it), time active (the
    gaps between one person's consecutive events, counting only gaps under ACTIVE_GAP_SECONDS), and
    images done (images now done or reviewed that the person labelled). Three queries whatever the
    size of the project: one scan of the period's events for the counts and the active time per
    person and day, images done per person, and the people's names.
    """
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    now = now or timezone.now()
    since = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    per_user: dict[int, dict] = {}
    for actor_id, day, events, labels, accepted, rejected, seconds in _activity_by_day(connection, project.pk, since):
        person = per_user.setdefault(actor_id, {"user_id": actor_id, "labels": 0, "accepted": 0, "rejected": 0,
                                                "events": 0, "active_seconds": 0.0, "images_done": 0, "days": []})
        day_row = {"day": str(day), "events": events, "labels": int(labels or 0), "accepted": int(accepted or 0),
                   "rejected": int(rejected or 0), "active_seconds": float(seconds or 0)}
        person["days"].append(day_row)
        for key in ("events", "labels", "accepted", "rejected", "active_seconds"):
            person[key] += day_row[key]
    done_images = project.images.filter(status__in=[Image.Status.DONE, Image.Status.REVIEWED]).values("id")
    images_done = (
        AnnotationEvent.objects.filter(project=project, actor_id__in=list(per_user), image_id__in=done_images,
                                       action=AnnotationEvent.Action.CREATE)
        .values("actor_id").annotate(n=Count("image_id", distinct=True)).order_by()
    ) if per_user else []
    for r in images_done:
        per_user[r["actor_id"]]["images_done"] = r["n"]
    users = get_user_model().objects.filter(pk__in=list(per_user))
    names = dict(users.values_list("id", "username")) if per_user else {}
    people = []
    for r in per_user.values():
        r["username"] = names.get(r["user_id"], f"user {r['user_id']}")
        r["days"].sort(key=lambda d: d["day"], reverse=True)
        people.append(r)
    people.sort(key=lambda r: (-r["labels"] - r["accepted"] - r["rejected"], r["username"]))
    return {"since": since.date().isoformat(), "days": days, "active_gap_seconds": ACTIVE_GAP_SECONDS, "people": people}


def _activity_by_day(connection, project_id: int, since) -> list[tuple]:
    """(actor, UTC day, events, labels made, proposals accepted, rejected, seconds active): one scan.

    Raw SQL: the window function (LAG, the gap to the same person's previous event) and the sums
    over it cannot be nested in the ORM. The inner query keeps only small columns, so the sort the
    window needs does not carry the JSON snapshots. Only the time and JSON functions differ
    between PostgreSQL and SQLite.
    """
    if connection.vendor == "postgresql":
        epoch, day = "EXTRACT(EPOCH FROM at)", "CAST(at AT TIME ZONE 'UTC' AS date)"
        origin, before_state, after_state = "after ->> 'origin'", "before ->> 'state'", "after ->> 'state'"
    else:
        epoch, day = "((julianday(at) - 2440587.5) * 86400.0)", "date(at)"
        origin, before_state, after_state = (
            "json_extract(after, '$.origin')", "json_extract(before, '$.state')", "json_extract(after, '$.state')")
    table = AnnotationEvent._meta.db_table
    sql = f"""
        SELECT actor_id, day, COUNT(*), SUM(is_label), SUM(is_accept), SUM(is_reject),
               SUM(CASE WHEN gap > 0 AND gap < %s THEN gap ELSE 0 END)
        FROM (
            SELECT actor_id, {day} AS day, is_label, is_accept, is_reject,
                   {epoch} - LAG({epoch}) OVER (PARTITION BY actor_id ORDER BY at, id) AS gap
            FROM (
                SELECT actor_id, at, id,
                       CASE WHEN action = 'create' AND {origin} = 'human' THEN 1 ELSE 0 END AS is_label,
                       CASE WHEN action <> 'create' AND {before_state} = 'proposed' AND {after_state} = 'accepted'
                            THEN 1 ELSE 0 END AS is_accept,
                       CASE WHEN action <> 'create' AND {before_state} = 'proposed' AND {after_state} = 'rejected'
                            THEN 1 ELSE 0 END AS is_reject
                FROM {table}
                WHERE project_id = %s AND at >= %s AND actor_id IS NOT NULL
            ) events
        ) gaps
        GROUP BY actor_id, day
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [ACTIVE_GAP_SECONDS, project_id, since])
        return cursor.fetchall()
