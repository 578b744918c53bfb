"""API of the review grid: annotations by score, bulk accept/reject/relabel, and "similar to this one"."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.exceptions import Conflict, PreconditionRequired
from annotator.parsers import JSONParser

from . import learning_loop, selectors, selectors_review, serializers
from .apis import ImageScoped, ProjectScoped
from .apis_annotations import AnnotationScoped
from .geometry import mask_outline
from .models import Annotation
from .permissions import ANNOTATE, REVIEW, VIEW
from .serializers import AnnotationSerializer
from .services.review import MAX_BULK, StaleVersions, annotation_bulk_update
from .services.review_notes import image_review_set

# "Similar to this one" ranks at most this many candidate annotations (the highest scoring):
# their images' feature blobs are read from the database on every request.
MAX_SIMILAR_CANDIDATES = 5000


class ReviewTileSerializer(AnnotationSerializer):
    """An annotation as a grid tile: with its image's size, a bounding box and an outline to draw.

    A mask's box and outline are the ones stored when it was saved (labeling.geometry.mask_outline):
    a page view never decodes a mask. Rows saved before outlines existed get theirs from
    with_outlines(), once.
    """

    image_width = drf.IntegerField(source="image.width", read_only=True)
    image_file_name = drf.CharField(source="image.file_name", read_only=True)
    image_height = drf.IntegerField(source="image.height", read_only=True)
    bbox = drf.SerializerMethodField(help_text="[x, y, w, h] in image pixels; null for tags.")
    outline = drf.SerializerMethodField(help_text="Polygons as flat [x1, y1, x2, y2, ...] lists in image pixels.")
    similarity = drf.FloatField(read_only=True, required=False, default=None)

    class Meta(AnnotationSerializer.Meta):
        fields = [*AnnotationSerializer.Meta.fields, "image_width", "image_height", "image_file_name", "bbox", "outline",
                  "similarity"]
        read_only_fields = fields

    def get_bbox(self, annotation) -> list[float] | None:
        g = annotation.geometry
        if annotation.kind == Annotation.Kind.BOX:
            return [g["x"], g["y"], g["w"], g["h"]]
        if annotation.kind == Annotation.Kind.POLYGON:
            xs, ys = [p[0] for p in g["points"]], [p[1] for p in g["points"]]
            return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        if annotation.kind == Annotation.Kind.MASK:
            return annotation.outline["bbox"]
        return None

    def get_outline(self, annotation) -> list[list[float]]:
        g = annotation.geometry
        if annotation.kind == Annotation.Kind.POLYGON:
            return [[v for p in g["points"] for v in p]]
        if annotation.kind == Annotation.Kind.MASK:
            return annotation.outline["polygons"]
        return []


def with_outlines(rows: list[Annotation]) -> list[Annotation]:
    """Give masks saved before outlines were stored theirs, and store it: traced once, not per view."""
    missing = [a for a in rows if a.kind == Annotation.Kind.MASK and not a.outline]
    for annotation in missing:
        try:
            annotation.outline = mask_outline(annotation.geometry)
        except (KeyError, TypeError, ValueError, IndexError):  # an unreadable old row: a tile without a picture
            annotation.outline = {"bbox": None, "polygons": []}
            continue
        # Only while still missing: a concurrent edit stores its own outline with its geometry.
        Annotation.objects.filter(pk=annotation.pk, outline__isnull=True).update(outline=annotation.outline)
    return rows


class ReviewPage(drf.Serializer):
    count = drf.IntegerField()
    next = drf.URLField(allow_null=True, help_text="The next page, or null on the last.")
    results = ReviewTileSerializer(many=True)


class SimilarList(drf.Serializer):
    anchor = drf.IntegerField(help_text="The annotation the others are compared with.")
    results = ReviewTileSerializer(many=True)


class ReviewQuery(drf.Serializer):
    label_class = drf.IntegerField(required=False)
    kind = drf.MultipleChoiceField(choices=Annotation.Kind.choices, required=False)
    state = drf.MultipleChoiceField(choices=Annotation.State.choices, required=False)
    origin = drf.ChoiceField(choices=Annotation.Origin.choices, required=False)

    def to_internal_value(self, data):
        if hasattr(data, "getlist"):  # QueryDict: ?kind=box&kind=mask
            data = {k: data.getlist(k) if k in ("kind", "state") else data.get(k) for k in data}
        return super().to_internal_value(data)


def _filtered(queryset, query: dict, default_state=(Annotation.State.PROPOSED,)):
    queryset = queryset.filter(state__in=query.get("state") or default_state)
    if query.get("label_class") is not None:
        queryset = queryset.filter(label_class_id=query["label_class"])
    if query.get("kind"):
        queryset = queryset.filter(kind__in=query["kind"])
    if query.get("origin"):
        queryset = queryset.filter(origin=query["origin"])
    return queryset


def _by_score(queryset):
    # People's labels have no score: they sort after every proposal, newest first.
    return queryset.order_by(F("score").desc(nulls_last=True), "-id")


class ReviewAnnotations(ProjectScoped, APIView):
    """The project's annotations for the review grid, highest score first, in pages with a `next` cursor.

    The cursor is the last tile's (score, id), so tiles accepted or rejected meanwhile never shift a page.
    """

    project_actions = {"GET": VIEW}

    @extend_schema(
        parameters=[
            ReviewQuery,
            OpenApiParameter("page_size", int, description="Default 60, at most 500."),
            OpenApiParameter("after", str, description="The `next` cursor of the previous page."),
        ],
        responses=ReviewPage,
    )
    def get(self, request, project_id):
        query = ReviewQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        size = _page_size(request)
        base = _filtered(selectors.annotation_list(project=self.project), query.validated_data)
        page = _by_score(base).select_related("image", "created_by")
        after = request.query_params.get("after")
        if after:
            page = page.filter(_after(after))
        rows = list(page[: size + 1])
        more, rows = len(rows) > size, rows[:size]
        next_url = None
        if more:
            last = rows[-1]
            params = request.query_params.copy()
            params["after"] = f"{'' if last.score is None else repr(last.score)}:{last.pk}"
            next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response(
            {"count": base.count(), "next": next_url, "results": ReviewTileSerializer(with_outlines(rows), many=True).data}
        )


def _page_size(request) -> int:
    try:
        return max(1, min(500, int(request.query_params.get("page_size", 60))))
    except ValueError:
        raise ValidationError({"page_size": "Give a whole number."}) from None


def _after(cursor: str) -> Q:
    """Rows after (score, id) in score-descending, nulls-last, id-descending order."""
    try:
        score, pk = cursor.rsplit(":", 1)
        pk = int(pk)
        score = float(score) if score else None
    except ValueError:
        raise ValidationError({"after": "Not a cursor from this API; follow `next`."}) from None
    if score is None:
        return Q(score__isnull=True, id__lt=pk)
    return Q(score__lt=score) | Q(score=score, id__lt=pk) | Q(score__isnull=True)


class BulkInput(drf.Serializer):
    ids = drf.ListField(child=drf.IntegerField(), allow_empty=False, max_length=MAX_BULK)
    versions = drf.ListField(
        child=drf.IntegerField(min_value=1), required=False, max_length=MAX_BULK,
        help_text="The version each id was based on, in the same order (required: 428 without it).",
    )
    state = drf.ChoiceField(choices=[Annotation.State.ACCEPTED, Annotation.State.REJECTED], required=False)
    label_class = drf.IntegerField(required=False, help_text="Relabel; a relabelled proposal is accepted.")


class BulkAnnotations(ProjectScoped, APIView):
    """Accept, reject or relabel a selection in one transaction: all of it or nothing.

    Like the single-object endpoints, every id carries the version it was based on; if any
    changed since, nothing is applied and the 409 carries the current rows in ``current``.
    """

    project_actions = {"POST": ANNOTATE}
    parser_classes = [JSONParser]

    @extend_schema(request=BulkInput, responses=AnnotationSerializer(many=True))
    def post(self, request, project_id):
        data = BulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        if "versions" not in data.validated_data:
            raise PreconditionRequired(
                "Send `versions`: the version each of `ids` was based on, in the same order."
            )
        try:
            updated = annotation_bulk_update(project=self.project, user=request.user, **data.validated_data)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except StaleVersions as exc:
            raise Conflict(
                AnnotationSerializer(exc.current, many=True).data,
                detail=f"{len(exc.current)} of these annotations changed since you loaded them; nothing was applied.",
            ) from None
        return Response(AnnotationSerializer(updated, many=True).data)


class AnnotationSimilar(AnnotationScoped, APIView):
    """Annotations of the same project and kind, most similar first by their images' stored features.

    Image-level similarity (crops are not featurised yet): annotations on one image tie, and
    ties go to the higher score. Annotations whose images have no features yet come last.
    """

    project_actions = {"GET": VIEW}

    @extend_schema(
        parameters=[ReviewQuery, OpenApiParameter("limit", int, description="Default 200, at most 1000.")],
        responses=SimilarList,
    )
    def get(self, request, pk):
        FeaturesMissing = learning_loop.features_missing_error()

        query = ReviewQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            limit = max(1, min(1000, int(request.query_params.get("limit", 200))))
        except ValueError:
            raise ValidationError({"limit": "Give a whole number."}) from None
        anchor = self.annotation
        base = selectors.annotation_list(project=anchor.image.project).filter(kind=anchor.kind)
        candidates = list(
            _by_score(_filtered(base, query.validated_data)).select_related("image", "created_by")[:MAX_SIMILAR_CANDIDATES]
        )
        try:
            similarity = learning_loop.similar_annotations(anchor_image_id=anchor.image_id, image_ids={a.image_id for a in candidates})
        except FeaturesMissing as exc:
            raise ValidationError({"features": str(exc)}) from None
        for a in candidates:
            a.similarity = similarity.get(a.image_id)
        # Stable sort: candidates are already by score, so ties keep the higher score first.
        candidates.sort(key=lambda a: (a.similarity is None, -(a.similarity or 0.0)))
        shown = with_outlines(candidates[:limit])
        return Response({"anchor": anchor.pk, "results": ReviewTileSerializer(shown, many=True).data})


# ---- review at image level ---------------------------------------------------------------------

class ImageReviewNoteSerializer(drf.Serializer):
    id = drf.IntegerField(read_only=True)
    verdict = drf.ChoiceField(choices=["reviewed", "sent_back"])
    text = drf.CharField(required=False, allow_blank=True, default="", trim_whitespace=True)
    author = drf.CharField(source="author.username", default=None, read_only=True)
    created_at = drf.DateTimeField(read_only=True)
    resolved = drf.BooleanField(read_only=True)


class ImageReview(ImageScoped, APIView):
    """GET: the image's review notes, newest first (every member: the annotator reads why it came back).
    POST {verdict: reviewed|sent_back, text}: a reviewer's verdict; the image's status moves with it."""

    project_actions = {"GET": VIEW, "POST": REVIEW}
    parser_classes = [JSONParser]

    @extend_schema(responses=ImageReviewNoteSerializer(many=True))
    def get(self, request, pk):
        notes = selectors_review.image_review_notes(image=self.image)
        return Response(ImageReviewNoteSerializer(notes, many=True).data)

    @extend_schema(request=ImageReviewNoteSerializer, responses=ImageReviewNoteSerializer)
    def post(self, request, pk):
        data = ImageReviewNoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = image_review_set(image=self.image, user=request.user, **data.validated_data)
        body = ImageReviewNoteSerializer(note).data
        body["image_status"] = self.image.status
        return Response(body, status=201)


class ImageEvents(ImageScoped, APIView):
    """The audit trail of the image's annotations (deleted ones too), newest first: who, when, before/after."""

    project_actions = {"GET": VIEW}

    @extend_schema(responses=serializers.AnnotationEventSerializer(many=True))
    def get(self, request, pk):
        events = selectors_review.image_events(image=self.image)
        rows = serializers.AnnotationEventSerializer(events, many=True).data
        for row, event in zip(rows, events):
            row["annotation_id"] = event.annotation_id
        return Response(rows)
