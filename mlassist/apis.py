"""Model assistance API: train now, versions and rollback, propose, the TFLite model."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.apis import ProjectScoped
from labeling.permissions import MANAGE, REVIEW, VIEW
from labeling.serializers import JobSerializer

from . import serializers
from .models import ModelVersion, SuspiciousLabel
from .services.exports import tflite_export_request
from .services.proposals import proposals_start
from .services.training import model_version_promote, training_request


class Train(ProjectScoped, APIView):
    project_actions = {"POST": REVIEW}

    @extend_schema(request=None, responses={202: serializers.TrainingRunSerializer})
    def post(self, request, project_id):
        run = training_request(project=self.project, user=request.user)
        return Response(serializers.TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TrainingRuns(ProjectScoped, APIView):
    project_actions = {"GET": VIEW}

    @extend_schema(responses=serializers.TrainingRunSerializer(many=True))
    def get(self, request, project_id):
        runs = self.project.training_runs.all()[:50]
        return Response(serializers.TrainingRunSerializer(runs, many=True).data)


class ModelVersions(ProjectScoped, APIView):
    project_actions = {"GET": VIEW}

    @extend_schema(responses=serializers.ModelVersionSerializer(many=True))
    def get(self, request, project_id):
        versions = ModelVersion.objects.filter(project=self.project).order_by("kind", "-number")
        return Response(serializers.ModelVersionSerializer(versions, many=True).data)


class PromoteVersion(ProjectScoped, APIView):
    project_actions = {"POST": MANAGE}

    @extend_schema(request=None, responses=serializers.ModelVersionSerializer)
    def post(self, request, project_id, pk):
        version = get_object_or_404(ModelVersion, project=self.project, pk=pk)
        return Response(serializers.ModelVersionSerializer(model_version_promote(version=version)).data)


class Propose(ProjectScoped, APIView):
    project_actions = {"POST": REVIEW}

    @extend_schema(request=serializers.ProposeSerializer, responses={202: JobSerializer})
    def post(self, request, project_id):
        data = serializers.ProposeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data.get("images") or []
        unknown = set(ids) - set(self.project.images.filter(pk__in=ids).values_list("id", flat=True))
        if unknown:
            raise ValidationError({"images": f"No image {sorted(unknown)[0]} in this project."})
        if not ModelVersion.objects.filter(project=self.project, in_service=True).exists():
            raise ValidationError({"project": "No model is trained yet: label a few images of each class, then train."})
        job = proposals_start(project=self.project, user=request.user, image_ids=ids)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class TFLiteModel(ProjectScoped, APIView):
    project_actions = {"GET": VIEW}

    @extend_schema(
        parameters=[OpenApiParameter("file", str, enum=["model", "labels"], description="labels: labels.txt")],
        responses={(200, "application/octet-stream"): bytes},
    )
    def get(self, request, project_id):
        version = ModelVersion.objects.filter(project=self.project, kind="classifier", in_service=True).first()
        if version is None:
            raise NotFound("No tag classifier is in service yet: train one first.")
        if not version.tflite:
            # Built on demand, never on the way to proposals (services/exports.py).
            tflite_export_request(version=version)
            response = Response(
                {"detail": f"The TFLite file of version {version.number} is being built (about a minute); "
                           "ask again then.", "errors": [{"field": "file", "detail": "Not built yet."}]},
                status=status.HTTP_202_ACCEPTED,
            )
            response["Retry-After"] = "15"
            return response
        stem = f"project-{self.project.pk}-classifier-v{version.number}"
        if request.query_params.get("file") == "labels":
            response = HttpResponse(version.tflite_labels, content_type="text/plain; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{stem}-labels.txt"'
            return response
        with version.tflite.open("rb") as fh:
            response = HttpResponse(fh.read(), content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{stem}.tflite"'
        response["X-Model-Version"] = str(version.number)
        return response


class SuspiciousLabels(ProjectScoped, APIView):
    """Accepted tags the cross-validated classifier disputes, most confident dispute first."""

    project_actions = {"GET": VIEW}

    @extend_schema(responses=serializers.SuspiciousLabelSerializer(many=True))
    def get(self, request, project_id):
        rows = (
            SuspiciousLabel.objects.filter(annotation__image__project=self.project)
            .select_related("annotation__created_by", "predicted_class")
            .order_by("-confidence")[:500]
        )
        return Response(serializers.SuspiciousLabelSerializer(rows, many=True).data)
