"""A head's proposal threshold, overridden by a manager or given back to the automatic choice."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.apis import ProjectScoped
from labeling.permissions import MANAGE

from . import serializers
from .models import ModelVersion
from .services.thresholds import model_version_threshold_set


class ThresholdSerializer(drf.Serializer):
    threshold = drf.FloatField(
        min_value=0.01, max_value=0.99, allow_null=True,
        help_text="Proposals scoring below it are not stored; null: back to the one chosen from validation.")


class VersionThreshold(ProjectScoped, APIView):
    """PATCH {"threshold": 0.3} or {"threshold": null}: the version's proposals are made again at once
    when it is in service, and the head's next versions keep the override."""

    project_actions = {"PATCH": MANAGE}

    @extend_schema(request=ThresholdSerializer, responses=serializers.ModelVersionSerializer)
    def patch(self, request, project_id, pk):
        version = get_object_or_404(ModelVersion, project=self.project, pk=pk)
        data = ThresholdSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = model_version_threshold_set(version=version, threshold=data.validated_data["threshold"],
                                              user=request.user)
        return Response(serializers.ModelVersionSerializer(version, context={"project": self.project}).data)
