"""Input and output shapes of the API (docs/api.md; the live schema is /api/schema/)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Annotation, Image, Job, LabelClass, Membership, Project
from .permissions import role_in


class ProjectSerializer(serializers.ModelSerializer):
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=Project.Kind.choices), allow_empty=False)
    role = serializers.SerializerMethodField()
    image_count = serializers.IntegerField(read_only=True, required=False)
    done_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Project
        fields = [
            "id", "name", "description", "kinds", "multilabel", "queue_order", "retrain_every",
            "proposal_threshold", "role", "image_count", "done_count", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "role", "image_count", "done_count", "created_at", "updated_at"]
        # The ranges the database's check constraints hold, said per field before they are reached.
        extra_kwargs = {
            "retrain_every": {"min_value": 1, "max_value": 100_000},
            "proposal_threshold": {"min_value": 0.0, "max_value": 1.0},
        }

    @extend_schema_field(serializers.ChoiceField(choices=Membership.Role.choices, allow_null=True))
    def get_role(self, project):
        user = self.context["request"].user
        if getattr(project, "my_role", None) and not user.is_superuser:
            return project.my_role  # annotated by the selector: no query per project
        return role_in(user, project)


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


class MembershipInputSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class LabelClassSerializer(serializers.ModelSerializer):
    class Meta:
        model = LabelClass
        fields = ["id", "name", "color", "hotkey", "order"]
        read_only_fields = ["id"]
        # Uniqueness is checked by the service and the database, with one clear message.
        validators = []
        extra_kwargs = {"color": {"required": False}, "hotkey": {"required": False}, "order": {"required": False}}


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    annotation_count = serializers.IntegerField(read_only=True, required=False)
    has_proposals = serializers.BooleanField(read_only=True, required=False)

    class Meta:
        model = Image
        fields = [
            "id", "project", "file_name", "width", "height", "sha256", "size", "format", "status", "url",
            "thumbnail_url", "annotation_count", "has_proposals", "created_at",
        ]
        read_only_fields = fields

    def get_url(self, image) -> str:
        return reverse("api-image-file", args=[image.pk])

    def get_thumbnail_url(self, image) -> str:
        return reverse("api-image-thumbnail", args=[image.pk])


class ImageStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Image.Status.choices)


class UploadSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), allow_empty=False)


class UploadErrorSerializer(serializers.Serializer):
    file = serializers.CharField()
    detail = serializers.CharField()


class UploadResultSerializer(serializers.Serializer):
    created = ImageSerializer(many=True)
    errors = UploadErrorSerializer(many=True)


class AnnotationSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)  # null: the model made it

    class Meta:
        model = Annotation
        fields = [
            "id", "image", "label_class", "kind", "geometry", "iscrowd", "origin", "state", "score",
            "model_version", "version", "created_by", "created_at", "updated_at",
        ]
        read_only_fields = fields


class AnnotationInputSerializer(serializers.Serializer):
    """Types only; the service checks the class, the kind and the geometry against the image."""

    label_class = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Annotation.Kind.choices)
    geometry = serializers.JSONField(required=False, default=dict)
    iscrowd = serializers.BooleanField(required=False, default=False)
    origin = serializers.ChoiceField(choices=Annotation.Origin.choices, required=False, default="human")
    state = serializers.ChoiceField(choices=Annotation.State.choices, required=False)
    score = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)


class AnnotationUpdateSerializer(serializers.Serializer):
    """What a PATCH may change; any other field (score, origin, kind, outline...) is refused, not ignored."""

    version = serializers.IntegerField(required=False, min_value=1, help_text="Or send If-Match.")
    label_class = serializers.IntegerField(required=False)
    geometry = serializers.JSONField(required=False)
    state = serializers.ChoiceField(choices=Annotation.State.choices, required=False)
    iscrowd = serializers.BooleanField(required=False)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            why = "only the model's proposals carry a score" if unknown[0] == "score" else "it is not editable"
            raise serializers.ValidationError(
                {unknown[0]: f"This field cannot be changed ({why}); send only {', '.join(self.fields)}."}
            )
        return attrs


class AnnotationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="The version the delete is based on.")


class AnnotationBatchUpdateSerializer(AnnotationUpdateSerializer):
    """One update of a batch: the annotation, the version it is based on and what changes."""

    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="The version the change is based on.")

    def to_internal_value(self, data):
        # A list's items have no initial_data of their own: the unknown-field check reads them here.
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            why = "only the model's proposals carry a score" if unknown[0] == "score" else "it is not editable"
            raise serializers.ValidationError(
                {unknown[0]: f"This field cannot be changed ({why}); send only {', '.join(self.fields)}."}
            )
        return super().to_internal_value(data)

    def validate(self, attrs):
        return attrs


class AnnotationBatchSerializer(serializers.Serializer):
    """An autosave: deletes, then updates, then creates, in one transaction."""

    delete = AnnotationRefSerializer(many=True, default=list, max_length=2000)
    update = AnnotationBatchUpdateSerializer(many=True, default=list, max_length=2000)
    create = AnnotationInputSerializer(many=True, default=list, max_length=2000)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({unknown[0]: "Unknown field; send delete, update and create."})
        return attrs


class AnnotationBatchResultSerializer(serializers.Serializer):
    created = AnnotationSerializer(many=True, help_text="In the order of `create`.")
    updated = AnnotationSerializer(many=True, help_text="In the order of `update`.")
    deleted = serializers.ListField(child=serializers.IntegerField(), help_text="The ids of `delete`.")


class AnnotationBatchStaleSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="The stale item: update[3] or delete[0].")
    id = serializers.IntegerField()
    current = AnnotationSerializer(allow_null=True, help_text="The annotation as it is now; null: deleted by someone else.")


class AnnotationBatchConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    conflicts = AnnotationBatchStaleSerializer(many=True)


class AnnotationEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    actor = serializers.CharField(source="actor.username", default=None)
    at = serializers.DateTimeField()
    before = serializers.JSONField()
    after = serializers.JSONField()


class JobSerializer(serializers.ModelSerializer):
    result_url = serializers.SerializerMethodField()
    can_retry = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id", "project", "kind", "state", "progress", "detail", "result", "result_url", "error", "attempts",
            "can_retry", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    def get_result_url(self, job) -> str | None:
        return reverse("api-job-result", args=[job.pk]) if job.result_file else None

    def get_can_retry(self, job) -> bool:
        """Whether this user may retry this failed job now (the "Retry" button)."""
        from .apis import JobRetry
        from .services.jobs import job_can_retry

        request = self.context.get("request")
        if request is None or job.state != Job.State.FAILED:
            return False
        allowed = self.context.setdefault("retry_allowed", {})  # one role look-up per list, not per row
        key = (job.project_id, job.kind)
        if key not in allowed:
            allowed[key] = JobRetry.allowed(request.user, job)
        return allowed[key] and job_can_retry(job=job)


class JobListSerializer(JobSerializer):
    """The list leaves out ``result`` (it can be large; GET /api/jobs/{id}/ has it): the page polls the list."""

    class Meta(JobSerializer.Meta):
        fields = [f for f in JobSerializer.Meta.fields if f != "result"]
        read_only_fields = fields


class StatsSerializer(serializers.Serializer):
    images = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    by_state = serializers.DictField(child=serializers.IntegerField())
    by_kind = serializers.DictField(child=serializers.IntegerField())
    by_class = serializers.ListField(child=serializers.DictField())
    progress = serializers.FloatField()


class QueueReasonSerializer(serializers.Serializer):
    order = serializers.CharField(help_text="The project's queue_order: sequential, random or uncertainty.")
    resumed = serializers.BooleanField(help_text="Your own unfinished image, handed back before any other.")
    margin = serializers.FloatField(allow_null=True, help_text="Uncertainty order: the gap between the model's "
                                                               "two likeliest answers (0 is a coin toss).")
    model_version = serializers.IntegerField(allow_null=True, help_text="The number of the version that scored it.")
    head = serializers.CharField(allow_null=True, help_text="classifier, detector or segmenter.")
    detail = serializers.CharField(help_text="The reason in words, as the workspace shows it.")


class NextImageSerializer(ImageSerializer):
    reason = QueueReasonSerializer(read_only=True, help_text="Why the queue chose this image.")

    class Meta(ImageSerializer.Meta):
        fields = [*ImageSerializer.Meta.fields, "reason"]
        read_only_fields = fields
