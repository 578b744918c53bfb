"""Model assistance. ModelVersion is what a proposal points back to; training fills it in."""

from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    class Kind(models.TextChoices):
        CLASSIFIER = "classifier", "Tag classifier"
        DETECTOR = "detector", "Box detector"
        SEGMENTER = "segmenter", "Mask head"

    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="model_versions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    number = models.PositiveIntegerField(help_text="1, 2, 3, ... per project and kind.")
    labels_used = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    artifact = models.FileField(upload_to="models/", max_length=300, blank=True)
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
