"""Annotations through the API: per image, per project, one at a time, with their audit trail."""

from django.core.exceptions import ValidationError
from django.utils.functional import cached_property
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.exceptions import Conflict, PreconditionRequired
from annotator.parsers import JSONParser

from . import selectors, serializers
from .apis import ImageScoped, ProjectScoped
from .models import Annotation
from .pagination import IdCursorPagination
from .permissions import ANNOTATE, MANAGE, VIEW, ProjectRolePermission, can, can_change_state
from .services import annotation_batch as batch_services
from .services import annotations as annotation_services


class AnnotationFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=Annotation.State.choices)
    origin = filters.ChoiceFilter(choices=Annotation.Origin.choices)
    kind = filters.MultipleChoiceFilter(choices=Annotation.Kind.choices)
    # Plain numbers, not choices among all rows: another project's id and a missing id must both
    # give an empty page (a "not a valid choice" 400 for missing ids only would tell which exist).
    label_class = filters.NumberFilter(field_name="label_class_id")
    image = filters.NumberFilter(field_name="image_id")

    class Meta:
        model = Annotation
        fields = ["state", "origin", "kind", "label_class", "image"]


class ProjectAnnotations(ProjectScoped, generics.ListAPIView):
    """Every annotation of the project, paged by id with a cursor (fast at any depth)."""

    serializer_class = serializers.AnnotationSerializer
    queryset = Annotation.objects.none()  # for the schema; get_queryset() is the real one
    filterset_class = AnnotationFilter
    pagination_class = IdCursorPagination
    project_actions = {"GET": VIEW}

    def get_queryset(self):
        return selectors.annotation_list(project=self.project)


def _version_from(request) -> int:
    """The version a write is based on: the ``version`` field, ``?version=`` or If-Match."""
    raw = request.data.get("version") if isinstance(request.data, dict) else None
    raw = raw or request.query_params.get("version") or request.headers.get("If-Match", "").strip('W/" ')
    if not raw:
        raise PreconditionRequired()
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValidationError({"version": f"{raw!r} is not a version number."}) from None


class EncodedJSONRenderer(JSONRenderer):
    """JSON as usual, except for bytes: a body the selector already encoded goes out as it is."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return super().render(data, accepted_media_type, renderer_context)


class ImageAnnotations(ImageScoped, APIView):
    project_actions = {"GET": VIEW, "POST": ANNOTATE}
    parser_classes = [JSONParser]
    renderer_classes = [EncodedJSONRenderer]

    @extend_schema(responses=serializers.AnnotationSerializer(many=True))
    def get(self, request, pk):
        return Response(selectors.annotation_rows(image=self.image))

    @extend_schema(request=serializers.AnnotationInputSerializer, responses={201: serializers.AnnotationSerializer})
    def post(self, request, pk):
        many = isinstance(request.data, list)
        data = serializers.AnnotationInputSerializer(data=request.data, many=many)
        data.is_valid(raise_exception=True)
        items = data.validated_data if many else [data.validated_data]
        if any(item.get("origin") == Annotation.Origin.MODEL for item in items) and not can(
            request.user, self.image.project, MANAGE
        ):
            raise PermissionDenied("Only managers may add model proposals through the API.")
        if many:
            created = annotation_services.annotation_create_many(image=self.image, user=request.user, items=items)
            return Response(serializers.AnnotationSerializer(created, many=True).data, status=status.HTTP_201_CREATED)
        created = annotation_services.annotation_create(image=self.image, user=request.user, data=items[0])
        return Response(serializers.AnnotationSerializer(created).data, status=status.HTTP_201_CREATED)


class ImageAnnotationsBatch(ImageScoped, APIView):
    """The workspace's autosave: deletes, updates and creates on one image in one transaction.

    Updates and deletes carry the version they are based on. If any is stale nothing is written
    and the answer is 409 listing every stale item with the annotation as it is now (null:
    deleted); a delete of an annotation already gone counts as done.
    """

    project_actions = {"POST": ANNOTATE}
    parser_classes = [JSONParser]

    @extend_schema(
        request=serializers.AnnotationBatchSerializer,
        responses={200: serializers.AnnotationBatchResultSerializer, 409: serializers.AnnotationBatchConflictSerializer},
    )
    def post(self, request, pk):
        data = serializers.AnnotationBatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        batch = data.validated_data
        if any(item.get("origin") == Annotation.Origin.MODEL for item in batch["create"]) and not can(
            request.user, self.image.project, MANAGE
        ):
            raise PermissionDenied("Only managers may add model proposals through the API.")
        try:
            result = batch_services.annotation_batch(
                image=self.image, user=request.user, delete=batch["delete"], update=batch["update"], create=batch["create"]
            )
        except batch_services.BatchConflict as exc:
            conflicts = [
                {"path": s.path, "id": s.id,
                 "current": serializers.AnnotationSerializer(s.current).data if s.current is not None else None}
                for s in exc.stale
            ]
            first = exc.stale[0]
            detail = f"{first.path}: annotation {first.id} was " + ("deleted" if first.current is None else "changed") + " by someone else; nothing was saved."
            return Response({"detail": detail, "conflicts": conflicts}, status=status.HTTP_409_CONFLICT)
        return Response(serializers.AnnotationBatchResultSerializer(result).data)


class AnnotationScoped:
    """Views under /api/annotations/{id}/: found among the user's projects, or 404."""

    permission_classes = [ProjectRolePermission]

    @cached_property
    def annotation(self):
        try:
            return selectors.annotation_get(user=self.request.user, annotation_id=self.kwargs["pk"])
        except Annotation.DoesNotExist:
            raise NotFound("No such annotation.") from None

    def get_project(self):
        return self.annotation.image.project


class AnnotationDetail(AnnotationScoped, APIView):
    project_actions = {"GET": VIEW, "PATCH": ANNOTATE, "DELETE": ANNOTATE}
    parser_classes = [JSONParser]

    def _stale(self, exc):
        if exc.current is None:
            raise NotFound("This annotation was deleted by someone else.")
        raise Conflict(serializers.AnnotationSerializer(exc.current).data)

    @extend_schema(responses=serializers.AnnotationSerializer)
    def get(self, request, pk):
        response = Response(serializers.AnnotationSerializer(self.annotation).data)
        response["ETag"] = f'"{self.annotation.version}"'
        return response

    @extend_schema(request=serializers.AnnotationUpdateSerializer, responses={200: serializers.AnnotationSerializer})
    def patch(self, request, pk):
        data = serializers.AnnotationUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        version = _version_from(request)
        changes = {k: v for k, v in data.validated_data.items() if k != "version"}
        if "state" in changes and changes["state"] != self.annotation.state:
            if not can_change_state(request.user, self.annotation, changes["state"]):
                raise PermissionDenied("Only reviewers and managers accept or reject labels made by people.")
        try:
            annotation = annotation_services.annotation_update(
                annotation=self.annotation, user=request.user, version=version, changes=changes
            )
        except annotation_services.StaleVersion as exc:
            self._stale(exc)
        response = Response(serializers.AnnotationSerializer(annotation).data)
        response["ETag"] = f'"{annotation.version}"'
        return response

    @extend_schema(
        parameters=[OpenApiParameter("version", int, description="Or send If-Match.")], responses={204: None}
    )
    def delete(self, request, pk):
        version = _version_from(request)
        try:
            annotation_services.annotation_delete(annotation=self.annotation, user=request.user, version=version)
        except annotation_services.StaleVersion as exc:
            self._stale(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnnotationEvents(AnnotationScoped, APIView):
    project_actions = {"GET": VIEW}

    @extend_schema(responses=serializers.AnnotationEventSerializer(many=True))
    def get(self, request, pk):
        events = selectors.annotation_events(annotation_id=self.annotation.pk)
        return Response(serializers.AnnotationEventSerializer(events, many=True).data)
