"""Live labelling API: a camera frame in, the served classifier's top labels out; Keep and Correct."""

from functools import cached_property

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.apis import ProjectScoped
from labeling.models import Project
from labeling.permissions import ANNOTATE, VIEW

from . import selectors_live
from .services import live as live_services


class LiveFrameSerializer(drf.Serializer):
    frame = drf.FileField(help_text="One camera frame, JPEG or PNG (320x240 is plenty).")


class LiveStoreSerializer(LiveFrameSerializer):
    # Ids bounded: past 64 bits is a 400 here, not a database error.
    model_version = drf.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True,
                                     help_text="The classifier version whose labels the page showed (its `id`); "
                                               "left out: the one in service (none in a project without tags).")
    overlay_versions = drf.ListField(
        child=drf.IntegerField(min_value=1, max_value=2**63 - 1), required=False, max_length=2,
        help_text="Keep: the box and mask versions whose boxes and masks the page drew (`overlay` of the live answer); "
                  "their findings are stored as proposals too.")
    label_class = drf.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1,
                                   help_text="Correct: the class the person picked. Left out: Keep the model's labels.")


LivePredictionSerializer = inline_serializer("LivePrediction", {
    "version": inline_serializer("LiveVersion", {"id": drf.IntegerField(), "number": drf.IntegerField()},
                                 allow_null=True),
    "labels": drf.ListField(child=drf.DictField()),
    "overlay": drf.ListField(child=inline_serializer("LiveOverlayVersion", {
        "id": drf.IntegerField(), "number": drf.IntegerField(), "kind": drf.CharField()})),
    "boxes": drf.ListField(child=drf.DictField(), help_text="{label_class, name, score, x, y, w, h} in frame pixels."),
    "masks": drf.ListField(child=drf.DictField(),
                           help_text="{label_class, name, score, bbox, polygons}: outer outlines in frame pixels."),
    "note": drf.CharField(),
    "timing_ms": drf.DictField(child=drf.FloatField()),
})


def prediction_data(prediction) -> dict:
    version = prediction.version
    return {
        "version": {"id": version.pk, "number": version.number} if version is not None else None,
        "labels": prediction.labels,
        "overlay": [{"id": v.pk, "number": v.number, "kind": v.kind} for v in prediction.overlay],
        "boxes": [{"label_class": b["label_class"], "name": b["name"], "score": round(b["score"], 4),
                   **{k: round(b[k], 1) for k in "xywh"}} for b in prediction.boxes],
        "masks": [{"label_class": m["label_class"], "name": m["name"], "score": round(m["score"], 4),
                   "bbox": m["bbox"], "polygons": m["polygons"]} for m in prediction.masks],
        "note": prediction.note,
        "timing_ms": prediction.timing_ms,
    }


def _read_frame(request, serializer_class):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data, data.validated_data["frame"].read(live_services.LIVE_FRAME_MAX_BYTES + 1)


class Live(ProjectScoped, APIView):
    """The served tag classifier's top-3 for one frame, and which version answered; with a box or mask
    head in service, its boxes and masks in frame pixels too (`overlay` names the versions). 404 when
    nothing can label the frame: no version in service, or its files missing (the detail says which)."""

    project_actions = {"POST": VIEW}
    parser_classes = [MultiPartParser, FormParser]

    @cached_property
    def project(self):
        # Up to 15 frames a second: the project, the role and the served version in one query.
        try:
            return selectors_live.live_project(user=self.request.user, project_id=self.kwargs["project_id"])
        except Project.DoesNotExist:
            raise Http404 from None

    @extend_schema(request={"multipart/form-data": LiveFrameSerializer}, responses=LivePredictionSerializer)
    def post(self, request, project_id):
        _, frame = _read_frame(request, LiveFrameSerializer)
        try:
            prediction = live_services.live_predict(project=self.project, frame=frame)
        except live_services.LiveUnavailable as exc:
            raise NotFound(str(exc)) from None
        return Response(prediction_data(prediction))


class LiveFrames(ProjectScoped, APIView):
    """Keep (no `label_class`): store the frame with the version's top labels as proposals.
    Correct (`label_class`): store it with that class as an accepted tag. 201 with the image id."""

    project_actions = {"POST": ANNOTATE}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": LiveStoreSerializer},
                   responses={201: inline_serializer("LiveStored", {"image": drf.IntegerField(),
                                                                     "labels": drf.ListField(child=drf.DictField())})})
    def post(self, request, project_id):
        values, frame = _read_frame(request, LiveStoreSerializer)
        label_class = None
        if values.get("label_class") is not None:
            label_class = self.project.label_classes.filter(pk=values["label_class"]).first()
            if label_class is None:
                raise ValidationError({"label_class": f"No class {values['label_class']} in this project."})
        try:
            image = live_services.live_frame_store(project=self.project, user=request.user, frame=frame,
                                                   version_id=values.get("model_version"), label_class=label_class,
                                                   overlay_ids=values.get("overlay_versions"))
        except live_services.LiveUnavailable as exc:
            raise NotFound(str(exc)) from None
        labels = list(image.annotations.order_by("-score", "id").values(
            "id", "label_class", "kind", "origin", "state", "score", "model_version"))
        return Response({"image": image.pk, "labels": labels}, status=status.HTTP_201_CREATED)
