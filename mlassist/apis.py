"""Model assistance API: train now, versions and rollback, propose, the TFLite model."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.apis import ProjectScoped
from labeling.permissions import MANAGE, REVIEW, VIEW
from labeling.serializers import JobSerializer

from . import events, serializers
from .models import ModelVersion, SuspiciousLabel, TrainingRun
from .services.datasets import training_readiness
from .services.exports import tflite_export_request
from .services.proposals import proposals_start
from .services.training import model_version_promote, training_request


class Train(ProjectScoped, APIView):
    project_actions = {"POST": REVIEW}

    @extend_schema(request=None, responses={202: serializers.TrainingRunSerializer})
    def post(self, request, project_id):
        run = training_request(project=self.project, user=request.user)
        # What each head still needs, where training is started: a run below the minimum trains nothing.
        body = {**serializers.TrainingRunSerializer(run).data, "readiness": training_readiness(project=self.project)}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class TrainingReadiness(ProjectScoped, APIView):
    """Per head: labelled images, the minimum to train (min_images), and why it cannot train yet."""

    project_actions = {"GET": VIEW}

    @extend_schema(responses=serializers.ReadinessSerializer(many=True))
    def get(self, request, project_id):
        return Response(training_readiness(project=self.project))


class TrainingRuns(ProjectScoped, APIView):
    project_actions = {"GET": VIEW}

    @extend_schema(
        parameters=[OpenApiParameter("state", str, description="Comma-separated: queued,running,succeeded,failed")],
        responses=serializers.TrainingRunSerializer(many=True),
    )
    def get(self, request, project_id):
        runs = self.project.training_runs.all()
        if "state" in request.query_params:
            states = [s.strip() for s in request.query_params["state"].split(",") if s.strip()]
            unknown = [s for s in states if s not in TrainingRun.State.values]
            if unknown or not states:
                raise ValidationError({"state": (
                    f"Unknown state {unknown[0]!r}; use {', '.join(TrainingRun.State.values)}." if unknown
                    else f"Give one or more of {', '.join(TrainingRun.State.values)}, separated by commas.")})
            runs = runs.filter(state__in=states)
        return Response(serializers.TrainingRunSerializer(runs[:50], many=True).data)


class _StreamOrJson(DefaultContentNegotiation):
    """EventSource sends ``Accept: text/event-stream``, which no DRF renderer offers: the view streams
    those itself, and everything else (errors included) is JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if "text/event-stream" in request.headers.get("Accept", ""):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class ModelEvents(ProjectScoped, APIView):
    """The model's state for open pages: long-poll with ``since`` (the last token), or server-sent
    events with ``Accept: text/event-stream``; both wait at most 20 s (see mlassist/events.py)."""

    project_actions = {"GET": VIEW}
    content_negotiation_class = _StreamOrJson

    @extend_schema(
        parameters=[OpenApiParameter("since", str, description="The token of the last answer; empty: answer now."),
                    OpenApiParameter("wait", float, description="Seconds to wait for a change (0-20, default 20).")],
        responses=serializers.ModelEventSerializer,
    )
    def get(self, request, project_id):
        try:
            wait = float(request.query_params.get("wait", events.WAIT_MAX))
        except ValueError:
            raise ValidationError({"wait": "Give the seconds to wait as a number from 0 to 20."}) from None
        if not 0 <= wait <= events.WAIT_MAX:
            raise ValidationError({"wait": "Give the seconds to wait as a number from 0 to 20."})
        since = request.query_params.get("since", "") or request.headers.get("Last-Event-ID", "")
        if "text/event-stream" in request.headers.get("Accept", ""):
            response = StreamingHttpResponse(
                events.model_event_stream(project_id=self.project.pk, since=since, wait=wait),
                content_type="text/event-stream",
            )
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"  # a proxy must pass events on as they come
            return response
        state = events.model_state_wait(project_id=self.project.pk, since=since, wait=wait)
        response = Response(state)
        if "retry_after" in state:
            response["Retry-After"] = str(state["retry_after"])
        return response


class ModelVersions(ProjectScoped, APIView):
    project_actions = {"GET": VIEW}

    @extend_schema(responses=serializers.ModelVersionSerializer(many=True))
    def get(self, request, project_id):
        versions = ModelVersion.objects.filter(project=self.project).order_by("kind", "-number")
        return Response(serializers.ModelVersionSerializer(versions, many=True, context={"project": self.project}).data)


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
    """Accepted tags, boxes and masks the model doubts (see services/audit.py), most confident first."""

    project_actions = {"GET": VIEW}

    @extend_schema(responses=serializers.SuspiciousLabelSerializer(many=True))
    def get(self, request, project_id):
        rows = (
            SuspiciousLabel.objects.filter(annotation__image__project=self.project)
            .select_related("annotation__created_by", "annotation__image__project", "predicted_class")
            .order_by("-confidence")[:500]
        )
        return Response(serializers.SuspiciousLabelSerializer(rows, many=True).data)
