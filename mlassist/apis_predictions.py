"""Bulk predictions: an external model pushes proposals (POST), anyone in the project reads them by cursor (GET)."""

from urllib.parse import urlencode

from django.core.exceptions import ValidationError

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.apis import ProjectScoped
from labeling.permissions import REVIEW, VIEW

from .selectors_predictions import prediction_page
from .services.predictions import predictions_store


class Predictions(ProjectScoped, APIView):
    """POST ``{"model": {"name", "version"}, "predictions": [...], "replace": false}``; GET pages by cursor."""

    project_actions = {"GET": VIEW, "POST": REVIEW}

    @extend_schema(parameters=[OpenApiParameter(p, str) for p in
                               ("cursor", "page_size", "model_version", "state", "kind", "image")],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, project_id):
        page = prediction_page(project=self.project, params=request.query_params)
        nxt = None
        if page["next_cursor"]:
            query = {**request.query_params.dict(), "cursor": page["next_cursor"]}
            nxt = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
        return Response({"next": nxt, **page})

    @extend_schema(request=inline_serializer("PredictionsIn", {
        "model": inline_serializer("ExternalModel", {"name": serializers.CharField(max_length=100),
                                                     "version": serializers.CharField(required=False)}),
        "predictions": serializers.ListField(child=inline_serializer("Prediction", {
            "image": serializers.IntegerField(), "label_class": serializers.IntegerField(),
            "kind": serializers.ChoiceField(choices=["tag", "box", "polygon", "mask"]),
            "geometry": serializers.JSONField(required=False), "score": serializers.FloatField(min_value=0, max_value=1),
        })),
        "replace": serializers.BooleanField(required=False, default=False),
    }), responses={201: OpenApiTypes.OBJECT})
    def post(self, request, project_id):
        body = request.data if isinstance(request.data, dict) else {}
        replace = body.get("replace", False)
        if not isinstance(replace, bool):
            raise ValidationError({"replace": "true or false."})
        result = predictions_store(project=self.project, model=body.get("model"),
                                   predictions=body.get("predictions"), replace=replace)
        return Response(result, status=status.HTTP_201_CREATED)
