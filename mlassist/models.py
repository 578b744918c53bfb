"""Model assistance: stored features, training runs and the model versions they produce."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ImageFeatures(models.Model):
    """The frozen backbone's output for one image, computed once per backbone configuration."""

    image = models.ForeignKey("labeling.Image", on_delete=models.CASCADE, related_name="features")
    backbone_key = models.CharField(max_length=80)
    # mlassist.ml.features.ImageFeatures.to_bytes(): pooled vector and spatial map, float16, normalised.
    blob = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "backbone_key"], name="features_once_per_backbone")]
        verbose_name_plural = "image features"

    def __str__(self):
        return f"features of image {self.image_id} ({self.backbone_key})"


class TrainingRun(models.Model):
    """One training of a project's heads. At most one runs and at most one waits, per project."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Reason(models.TextChoices):
        LABELS = "labels", "New labels"
        MANUAL = "manual", "Train now"

    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="training_runs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(max_length=10, choices=Reason.choices, default=Reason.MANUAL)
    stage = models.CharField(max_length=40, blank=True)
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    progress = models.FloatField(default=0)
    detail = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The lease, as on labeling.Job: a running run with a stale heartbeat has lost its worker.
    lease_owner = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Coalescing: labels arriving while a run is queued or running add nothing more.
            models.UniqueConstraint(fields=["project"], condition=Q(state="queued"), name="one_queued_run_per_project"),
            models.UniqueConstraint(fields=["project"], condition=Q(state="running"), name="one_running_run_per_project"),
            models.CheckConstraint(name="run_state_valid", condition=Q(state__in=["queued", "running", "succeeded", "failed"])),
            models.CheckConstraint(name="run_progress_0_1", condition=Q(progress__gte=0) & Q(progress__lte=1)),
        ]

    def __str__(self):
        return f"training run {self.pk} of {self.project} ({self.state})"


class ModelVersion(models.Model):
    class Kind(models.TextChoices):
        CLASSIFIER = "classifier", "Tag classifier"
        DETECTOR = "detector", "Box detector"
        SEGMENTER = "segmenter", "Mask head"

    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="model_versions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    number = models.PositiveIntegerField(help_text="1, 2, 3, ... per project and kind.")
    training_run = models.ForeignKey(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_versions"
    )
    backbone_key = models.CharField(max_length=80, blank=True)
    labels_used = models.PositiveIntegerField(default=0)
    # Metrics on the held-out split, the ids of that split's images, and the class order of the outputs.
    metrics = models.JSONField(default=dict, blank=True)
    validation_images = models.JSONField(default=list, blank=True)
    class_ids = models.JSONField(default=list, blank=True)
    artifact = models.FileField(upload_to="models/", max_length=300, blank=True)
    # Classifiers only: backbone and head together for phones and edge devices, with labels.txt.
    tflite = models.FileField(upload_to="models/", max_length=300, blank=True)
    tflite_labels = models.TextField(blank=True)
    in_service = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "kind", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind", "number"], name="modelversion_number_unique"),
            # At most one version of each kind serves a project at a time.
            models.UniqueConstraint(
                fields=["project", "kind"], condition=Q(in_service=True), name="modelversion_one_in_service"
            ),
            models.CheckConstraint(name="modelversion_kind_valid", condition=Q(kind__in=["classifier", "detector", "segmenter"])),
        ]

    def __str__(self):
        return f"{self.project} {self.kind} v{self.number}"


class ImageUncertainty(models.Model):
    """How unsure the serving model is about an unlabelled image: the annotator's queue can take
    the least certain first (smallest margin between the two most likely answers)."""

    image = models.OneToOneField("labeling.Image", on_delete=models.CASCADE, related_name="uncertainty")
    margin = models.FloatField()
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["margin"], name="uncertainty_margin")]
        constraints = [models.CheckConstraint(name="margin_0_1", condition=Q(margin__gte=0) & Q(margin__lte=1))]

    def __str__(self):
        return f"image {self.image_id}: margin {self.margin:.3f}"


class SuspiciousLabel(models.Model):
    """An accepted tag that a classifier trained without it (cross-validated) confidently disputes."""

    annotation = models.OneToOneField("labeling.Annotation", on_delete=models.CASCADE, related_name="suspicion")
    predicted_class = models.ForeignKey("labeling.LabelClass", on_delete=models.CASCADE, related_name="+")
    confidence = models.FloatField(help_text="The model's probability for its own answer.")
    training_run = models.ForeignKey(TrainingRun, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-confidence"]

    def __str__(self):
        return f"annotation {self.annotation_id} looks like class {self.predicted_class_id}"
