"""API behind the data and settings screens: delete images in bulk, merge classes, paste class names."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors_data
from .apis import ProjectScoped
from .models import Image
from .permissions import MANAGE
from .serializers import LabelClassSerializer
from .services import classes as class_services
from .services import projects as project_services


class DeleteSummarySerializer(drf.Serializer):
    images = drf.IntegerField()
    annotations = drf.IntegerField()


class ImagesDeleteSerializer(drf.Serializer):
    ids = drf.ListField(child=drf.IntegerField(), required=False, default=list, max_length=10_000)
    status = drf.ListField(child=drf.ChoiceField(choices=Image.Status.choices), required=False, default=list)


class ImagesDelete(ProjectScoped, APIView):
    """GET: what deleting these images would lose (for the confirmation); POST: delete them, all or none."""

    project_actions = {"GET": MANAGE, "POST": MANAGE}

    @extend_schema(
        parameters=[OpenApiParameter("ids", str, description="Comma-separated image ids."),
                    OpenApiParameter("status", str, many=True, description="Image statuses (repeatable).")],
        responses=DeleteSummarySerializer,
    )
    def get(self, request, project_id):
        try:
            ids = [int(x) for x in request.query_params.get("ids", "").split(",") if x.strip()]
        except ValueError:
            raise ValidationError({"ids": "Give image ids separated by commas."}) from None
        statuses = request.query_params.getlist("status")
        unknown = [s for s in statuses if s not in Image.Status.values]
        if unknown:
            raise ValidationError({"status": f"Unknown status {unknown[0]!r}; one of {', '.join(Image.Status.values)}."})
        images = selectors_data.images_to_delete(project=self.project, ids=ids, statuses=statuses)
        return Response(selectors_data.delete_summary(images=images))

    @extend_schema(request=ImagesDeleteSerializer, responses=DeleteSummarySerializer)
    def post(self, request, project_id):
        data = ImagesDeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        summary = project_services.images_delete(
            project=self.project, ids=data.validated_data["ids"], statuses=data.validated_data["status"]
        )
        return Response(summary)


class ClassMergeSerializer(drf.Serializer):
    source = drf.IntegerField(help_text="The class that goes; its labels move to target.")
    target = drf.IntegerField(help_text="The class that stays.")


class ClassMergeResultSerializer(drf.Serializer):
    moved = drf.IntegerField()
    dropped = drf.IntegerField(help_text="Tags of source on images target already tags in the same state.")
    source = drf.CharField()
    target = drf.CharField()


class ClassMerge(ProjectScoped, APIView):
    project_actions = {"POST": MANAGE}

    @extend_schema(request=ClassMergeSerializer, responses=ClassMergeResultSerializer)
    def post(self, request, project_id):
        data = ClassMergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        classes = self.project.label_classes
        found = {c.pk: c for c in classes.filter(pk__in=[data.validated_data["source"], data.validated_data["target"]])}
        for field in ("source", "target"):
            if data.validated_data[field] not in found:
                raise ValidationError({field: f"No class {data.validated_data[field]} in this project."})
        result = class_services.label_class_merge(
            source=found[data.validated_data["source"]], target=found[data.validated_data["target"]], user=request.user
        )
        return Response(result)


class ClassPasteSerializer(drf.Serializer):
    names = drf.CharField(help_text="One class name a line.", trim_whitespace=False, max_length=20_000)


class ClassPaste(ProjectScoped, APIView):
    project_actions = {"POST": MANAGE}

    @extend_schema(request=ClassPasteSerializer, responses={201: LabelClassSerializer(many=True)})
    def post(self, request, project_id):
        data = ClassPasteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = class_services.label_classes_paste(project=self.project, text=data.validated_data["names"])
        return Response(LabelClassSerializer(created, many=True).data, status=status.HTTP_201_CREATED)
