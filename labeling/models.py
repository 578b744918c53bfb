"""The labelling domain: projects, their members and classes, images and annotations.

Rules that must hold whatever code writes the rows live in Meta.constraints as well as in
Python validation, so the database refuses what the services would.
"""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q


class Project(models.Model):
    class Kind(models.TextChoices):
        TAG = "tag", "Image classification tags"
        BOX = "box", "Boxes"
        POLYGON = "polygon", "Polygons"
        MASK = "mask", "Masks"

    class QueueOrder(models.TextChoices):
        SEQUENTIAL = "sequential", "In upload order"
        RANDOM = "random", "Random"
        UNCERTAINTY = "uncertainty", "Model's least certain first"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # One flag per annotation kind: a check constraint can then require at least one.
    uses_tags = models.BooleanField(default=False)
    uses_boxes = models.BooleanField(default=False)
    uses_polygons = models.BooleanField(default=False)
    uses_masks = models.BooleanField(default=False)
    multilabel = models.BooleanField(default=False, help_text="Tags: several classes per image.")
    queue_order = models.CharField(max_length=20, choices=QueueOrder.choices, default=QueueOrder.SEQUENTIAL)
    retrain_every = models.PositiveIntegerField(default=10, help_text="Retrain after this many new labels.")
    proposal_threshold = models.FloatField(default=0.5, help_text="Proposals scoring below are not stored.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="project_uses_some_kind",
                condition=Q(uses_tags=True) | Q(uses_boxes=True) | Q(uses_polygons=True) | Q(uses_masks=True),
                violation_error_message="A project uses at least one annotation kind.",
            ),
            models.CheckConstraint(
                name="project_threshold_0_1",
                condition=Q(proposal_threshold__gte=0) & Q(proposal_threshold__lte=1),
            ),
            models.CheckConstraint(name="project_retrain_every_positive", condition=Q(retrain_every__gte=1)),
            models.CheckConstraint(
                name="project_queue_order_valid", condition=Q(queue_order__in=["sequential", "random", "uncertainty"])
            ),
        ]

    def __str__(self):
        return self.name

    _KIND_FLAGS = {"tag": "uses_tags", "box": "uses_boxes", "polygon": "uses_polygons", "mask": "uses_masks"}

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, flag in self._KIND_FLAGS.items() if getattr(self, flag)]

    def set_kinds(self, kinds) -> None:
        for kind, flag in self._KIND_FLAGS.items():
            setattr(self, flag, kind in kinds)


class Membership(models.Model):
    class Role(models.TextChoices):
        MANAGER = "manager", "Manager"
        REVIEWER = "reviewer", "Reviewer"
        ANNOTATOR = "annotator", "Annotator"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_once_per_project"),
            models.CheckConstraint(name="membership_role_valid", condition=Q(role__in=["manager", "reviewer", "annotator"])),
        ]

    def __str__(self):
        return f"{self.user} in {self.project} as {self.role}"


class LabelClass(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="label_classes")
    name = models.CharField(max_length=100)
    color = models.CharField(
        max_length=7, default="#1f77b4", validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use #rrggbb.")]
    )
    hotkey = models.CharField(
        max_length=1,
        blank=True,
        validators=[RegexValidator(r"^[0-9a-zA-Z]$", "One letter or digit.")],
        help_text="One key; digits 1-9 by default.",
    )
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="labelclass_name_unique_in_project"),
            models.UniqueConstraint(
                fields=["project", "hotkey"], condition=~Q(hotkey=""), name="labelclass_hotkey_unique_in_project"
            ),
            models.CheckConstraint(name="labelclass_name_not_blank", condition=~Q(name="")),
            models.CheckConstraint(name="labelclass_color_length", condition=Q(color__startswith="#")),
        ]
        verbose_name_plural = "label classes"

    def __str__(self):
        return self.name


def image_upload_to(instance, filename):
    # Files are named by content hash, never by the uploader's name (which may climb directories).
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"projects/{instance.project_id}/images/{instance.sha256[:2]}/{instance.sha256}.{ext}"


def thumbnail_upload_to(instance, filename):
    return f"projects/{instance.project_id}/thumbnails/{instance.sha256[:2]}/{instance.sha256}.jpg"


class Image(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        REVIEWED = "reviewed", "Reviewed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=image_upload_to, max_length=300)
    thumbnail = models.FileField(upload_to=thumbnail_upload_to, max_length=300, blank=True)
    file_name = models.CharField(max_length=255, help_text="The name it was uploaded under.")
    # Read once at upload (after EXIF orientation, as browsers show it) and never again.
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    format = models.CharField(max_length=10)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    # Who took it from the next-image queue, and when; stale claims expire.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="image_unique_content_in_project"),
            models.CheckConstraint(name="image_size_positive", condition=Q(width__gt=0) & Q(height__gt=0)),
            models.CheckConstraint(name="image_status_valid", condition=Q(status__in=["new", "in_progress", "done", "reviewed"])),
        ]
        indexes = [models.Index(fields=["project", "status"], name="image_project_status")]

    def __str__(self):
        return self.file_name


class Annotation(models.Model):
    class Kind(models.TextChoices):
        TAG = "tag", "Tag"
        BOX = "box", "Box"
        POLYGON = "polygon", "Polygon"
        MASK = "mask", "Mask"

    class Origin(models.TextChoices):
        HUMAN = "human", "Human"
        MODEL = "model", "Model"

    class State(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="annotations")
    # Deleting a class that still labels something is refused rather than silently dropping labels.
    label_class = models.ForeignKey(LabelClass, on_delete=models.PROTECT, related_name="annotations")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    geometry = models.JSONField(default=dict)
    iscrowd = models.BooleanField(default=False)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.HUMAN)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACCEPTED)
    score = models.FloatField(null=True, blank=True)
    model_version = models.ForeignKey(
        "mlassist.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="annotations"
    )
    # Masks: outline polygons and bbox traced once when saved, so crops and previews never decode
    # the full-image mask on a page view. Derived from geometry; never written by clients.
    outline = models.JSONField(null=True, blank=True)
    # COCO's bbox [x, y, w, h] and area of the shape (labeling.rules.coco_fields), stored with the
    # geometry so that an export writes each annotation's JSON in SQL. Null for tags, and for rows
    # written before they existed or by hand: the export computes those itself.
    coco_bbox = models.JSONField(null=True, blank=True)
    coco_area = models.FloatField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["image_id", "id"]
        constraints = [
            models.CheckConstraint(name="annotation_kind_valid", condition=Q(kind__in=["tag", "box", "polygon", "mask"])),
            models.CheckConstraint(name="annotation_origin_valid", condition=Q(origin__in=["human", "model"])),
            models.CheckConstraint(name="annotation_state_valid", condition=Q(state__in=["proposed", "accepted", "rejected"])),
            models.CheckConstraint(
                name="annotation_score_0_1",
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=1)),
            ),
            models.CheckConstraint(name="annotation_version_positive", condition=Q(version__gte=1)),
            # A class tags an image at most once (proposals and rejected tags aside).
            models.UniqueConstraint(
                fields=["image", "label_class"],
                condition=Q(kind="tag", state="accepted"),
                name="annotation_one_accepted_tag_per_class",
            ),
            # Only the model proposes; a human label is never in the "proposed" state.
            models.CheckConstraint(
                name="annotation_proposed_only_from_model",
                condition=~Q(state="proposed") | Q(origin="model"),
            ),
        ]
        indexes = [
            models.Index(fields=["image", "state"], name="annotation_image_state"),
            # A project's counts (selectors.project_stats, the review page's proposals per class)
            # read this index alone: a project's annotations are those of its classes.
            models.Index(fields=["label_class", "state", "kind"], name="annotation_class_state_kind"),
        ]

    def __str__(self):
        return f"{self.kind} {self.label_class_id} on image {self.image_id}"


class AnnotationEvent(models.Model):
    """Append-only audit trail: one row for every create, update, state change and delete."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        STATE = "state", "State changed"
        DELETE = "delete", "Deleted"

    # Not a foreign key: the trail outlives the annotation it describes.
    annotation_id = models.BigIntegerField(db_index=True)
    # No database constraint and no cascade: the trail outlives its project too. The database refuses
    # every UPDATE and DELETE of these rows (triggers of labeling/migrations/0004_audit_trigger.py), so
    # a cascade from a deleted project could only fail; the rows keep the deleted project's id.
    project = models.ForeignKey(Project, on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="annotation_events")
    image_id = models.BigIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    # A deleted user's events lose only who made them: the one UPDATE the database's triggers allow.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "at"], name="event_project_at")]
        constraints = [models.CheckConstraint(name="event_action_valid", condition=Q(action__in=["create", "update", "state", "delete"]))]

    def __str__(self):
        return f"{self.action} annotation {self.annotation_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Annotation events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Annotation events are append-only.")


class Job(models.Model):
    """A long job run by a Celery worker, with progress the UI shows as a bar."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=40)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.FloatField(default=0)
    detail = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    result_file = models.FileField(upload_to="jobs/", max_length=300, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The lease: the worker running the job writes heartbeat_at every few seconds; a running job
    # whose heartbeat is stale belongs to a dead worker and may be claimed again (or failed).
    lease_owner = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="job_state_heartbeat")]
        constraints = [
            models.CheckConstraint(name="job_state_valid", condition=Q(state__in=["queued", "running", "succeeded", "failed"])),
            models.CheckConstraint(name="job_progress_0_1", condition=Q(progress__gte=0) & Q(progress__lte=1)),
        ]

    def __str__(self):
        return f"{self.kind} job {self.id} ({self.state})"


class UrlImportLine(models.Model):
    """One line of a URL import's report, written as it is done (append-only, never rewritten)."""

    class Outcome(models.TextChoices):
        STORED = "stored", "Stored"
        DUPLICATE = "duplicate", "Already in the project"
        REFUSED = "refused", "Refused"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="url_lines")
    line = models.PositiveIntegerField(help_text="1-based line number in the uploaded list.")
    url = models.TextField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.TextField(blank=True)
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job_id", "line"]
        constraints = [
            models.UniqueConstraint(fields=["job", "line"], name="urlimportline_once_per_line"),
            models.CheckConstraint(
                name="urlimportline_outcome_valid", condition=Q(outcome__in=["stored", "duplicate", "refused"])
            ),
        ]

    def __str__(self):
        return f"line {self.line} of job {self.job_id}: {self.outcome}"


class ImageReviewNote(models.Model):
    """A reviewer's verdict on a whole image: reviewed, or sent back to be fixed with a comment.

    An open (unresolved) "sent back" note is what the annotator sees when they open the image and
    what the project page counts as "sent back"; marking the image reviewed later resolves it.
    """

    class Verdict(models.TextChoices):
        REVIEWED = "reviewed", "Reviewed"
        SENT_BACK = "sent_back", "Sent back"

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="review_notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["image_id", "id"]
        indexes = [models.Index(fields=["image", "resolved"], name="reviewnote_image_open")]
        constraints = [
            models.CheckConstraint(name="reviewnote_verdict_valid", condition=Q(verdict__in=["reviewed", "sent_back"])),
            # Sending an image back without saying why leaves the annotator guessing.
            models.CheckConstraint(name="reviewnote_sent_back_has_text", condition=~Q(verdict="sent_back") | ~Q(text="")),
        ]

    def __str__(self):
        return f"{self.verdict} note on image {self.image_id}"
