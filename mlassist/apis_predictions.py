"""Bulk predictions: an external model pushes proposals (POST), anyone in the project reads them by cursor (GET)."""

from urllib.parse import urlencode

from django.core.exceptions import ValidationError

from drf_spectacular.utils import OpenApiParameter, extend_schema
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
                               ("cursor", "page_size", "model_version", "state", "kind", "image")])
    def get(self, request, project_id):
        page = prediction_page(project=self.project, params=request.query_params)
        nxt = None
        if page["next_cursor"]:
            query = {**request.query_params.dict(), "cursor": page["next_cursor"]}
            nxt = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
        return Response({"next": nxt, **page})

    @extend_schema(request=None)
    def post(self, request, project_id):
        body = request.data if isinstance(request.data, dict) else {}
        replace = body.get("replace", False)
        if not isinstance(replace, bool):
            raise ValidationError({"replace": "true or false."})
        result = predictions_store(project=self.project, model=body.get("model"),
                                   predictions=body.get("predictions"), replace=replace)
        return Response(result, status=status.HTTP_201_CREATED)
