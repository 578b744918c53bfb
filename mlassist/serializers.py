from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.serializers import AnnotationSerializer

from .models import ModelVersion, SuspiciousLabel, TrainingRun
from .selectors import backbone_mismatch, suspicion_reason


class TrainingRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingRun
        fields = ["id", "state", "reason", "stage", "epoch", "epochs", "loss", "progress", "detail", "error",
                  "attempts", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class ModelVersionSerializer(serializers.ModelSerializer):
    threshold = serializers.SerializerMethodField()
    threshold_source = serializers.SerializerMethodField()
    serving_problem = serializers.SerializerMethodField(
        help_text="Why this version cannot serve now (trained on another backbone than the configured one); "
                  "empty when it can.")

    class Meta:
        model = ModelVersion
        fields = ["id", "kind", "number", "labels_used", "metrics", "class_ids", "in_service", "backbone_key",
                  "serving_problem", "threshold", "threshold_source", "created_at"]
        read_only_fields = fields


    def get_serving_problem(self, version) -> str:
        return backbone_mismatch(version)

    def _threshold(self, version) -> tuple[float, str]:
        from .services.proposals import threshold_choice

        # The list passes its project in the context: one query for all versions, not one each.
        return threshold_choice(version, self.context.get("project") or version.project)

    @extend_schema_field(serializers.FloatField(help_text="The score below which this version's proposals are not "
                                                          "stored (see threshold_source)."))
    def get_threshold(self, version) -> float:
        return self._threshold(version)[0]

    @extend_schema_field(serializers.ChoiceField(choices=["override", "project", "automatic", "default"], help_text=(
        "override: set for this head by a manager (PATCH .../threshold/); project: the project's proposal_threshold "
        "(moved from 0.5, for every head); automatic: chosen from the version's validation (metrics.threshold); "
        "default: 0.5, a version from before thresholds were chosen.")))
    def get_threshold_source(self, version) -> str:
        return self._threshold(version)[1]


class ProposeSerializer(serializers.Serializer):
    # Ids are positive 64-bit numbers: anything else is refused here, naming the item, before the
    # database sees it (SQLite cannot even bind an integer past 64 bits: that was a 500).
    images = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False, allow_empty=True
    )


class SuspiciousLabelSerializer(serializers.ModelSerializer):
    annotation = AnnotationSerializer()
    predicted_class_name = serializers.CharField(source="predicted_class.name")
    reason = serializers.SerializerMethodField(
        help_text="disputed: the model says predicted_class instead; not_found: it sees nothing of the labelled "
                  "class there; missing (multi-label tags): it also sees predicted_class on the image, untagged.")

    class Meta:
        model = SuspiciousLabel
        fields = ["annotation", "predicted_class", "predicted_class_name", "reason", "confidence", "created_at"]
        read_only_fields = fields

    def get_reason(self, row) -> str:
        return suspicion_reason(kind=row.annotation.kind, multilabel=row.annotation.image.project.multilabel,
                                labelled_class_id=row.annotation.label_class_id,
                                predicted_class_id=row.predicted_class_id)


class ReadinessSerializer(serializers.Serializer):
    kind = serializers.CharField()
    head = serializers.CharField()
    labelled_images = serializers.IntegerField()
    classes = serializers.IntegerField()
    min_images = serializers.IntegerField(help_text="Below this many labelled images the head is not trained.")
    min_classes = serializers.IntegerField()
    ready = serializers.BooleanField()
    problem = serializers.CharField(help_text="Why it cannot train yet; empty when it can.")


class ModelEventSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it back as `since`: the answer waits until it changes.")
    changed = serializers.BooleanField()
    run = serializers.DictField(allow_null=True)
    serving = serializers.ListField(child=serializers.DictField())
    latest_version = serializers.IntegerField()
    newest_proposal = serializers.IntegerField()
    retry_after = serializers.IntegerField(required=False)
