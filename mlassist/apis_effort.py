"""Time saved so far by the model's proposals (mlassist/selectors_effort.py says how it is computed)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.apis import ProjectScoped
from labeling.permissions import VIEW

from .selectors_effort import time_saved


class KindEffortSerializer(serializers.Serializer):
    kind = serializers.CharField()
    accepted = serializers.IntegerField(help_text="Proposals accepted as they were.")
    edited = serializers.IntegerField(help_text="Proposals accepted after changing their class or shape.")
    rejected = serializers.IntegerField()
    drawn = serializers.IntegerField(help_text="Labels people made themselves.")
    saved_seconds = serializers.FloatField()


class TimeSavedSerializer(serializers.Serializer):
    saved_seconds = serializers.FloatField(help_text="Hand-drawing cost of the accepted and edited proposals "
                                                     "minus the cost of checking, editing and rejecting proposals.")
    assisted_seconds = serializers.FloatField(help_text="What the labels cost with the model's help.")
    manual_seconds = serializers.FloatField(help_text="What the same labels would have cost drawn by hand.")
    ratio = serializers.FloatField(allow_null=True, help_text="assisted ÷ manual; null before any label.")
    accepted = serializers.IntegerField()
    edited = serializers.IntegerField()
    rejected = serializers.IntegerField()
    drawn = serializers.IntegerField()
    by_kind = KindEffortSerializer(many=True)
    costs = serializers.DictField(help_text="The published action costs used, in seconds.")
    method = serializers.CharField(help_text="How it is computed, in words.")


class TimeSaved(ProjectScoped, APIView):
    """What the model's proposals saved this project's people so far, from their action log."""

    project_actions = {"GET": VIEW}

    @extend_schema(responses=TimeSavedSerializer)
    def get(self, request, project_id):
        return Response(time_saved(project=self.project))
