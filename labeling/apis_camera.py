"""The camera's capture API: a batch of frames from one class, stored and tagged (annotators and up)."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors_camera
from .apis import ProjectScoped
from .permissions import ANNOTATE, VIEW
from .services import camera as camera_services


class CaptureSerializer(drf.Serializer):
    # Bounded: an id past 64 bits is a 400 here, not a database error.
    label_class = drf.IntegerField(min_value=1, max_value=2**63 - 1,
                                   help_text="The class every stored picture is tagged with.")
    faces = drf.BooleanField(default=False, help_text="Store each face found (with a margin) instead of the frame.")
    frames = drf.ListField(child=drf.FileField(), help_text="The frames, JPEG or PNG (repeat the field).")


CaptureCounts = inline_serializer("CaptureCounts", {"counts": drf.DictField(child=drf.IntegerField())})
CaptureResultSerializer = inline_serializer("CaptureResult", {
    "images": drf.ListField(child=drf.IntegerField()),
    "stored": drf.IntegerField(), "duplicates": drf.IntegerField(), "faces": drf.IntegerField(),
    "no_face": drf.IntegerField(), "errors": drf.ListField(child=drf.DictField()),
    "counts": drf.DictField(child=drf.IntegerField()),
})


class Capture(ProjectScoped, APIView):
    """GET: pictures per class (accepted tags). POST: store a batch of camera frames under a class.

    201 when something was stored, 200 when every frame was a duplicate (or had no face): a
    still camera sends the same picture again, which is counted, not an error. 400 names the
    field (``label_class``, ``frames``) and nothing is stored.
    """

    project_actions = {"GET": VIEW, "POST": ANNOTATE}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=CaptureCounts)
    def get(self, request, project_id):
        return Response({"counts": _counts(self.project)})

    @extend_schema(request={"multipart/form-data": CaptureSerializer}, responses={201: CaptureResultSerializer,
                                                                                   200: CaptureResultSerializer})
    def post(self, request, project_id):
        data = CaptureSerializer(data={
            "label_class": request.data.get("label_class"),
            "faces": request.data.get("faces", False),
            "frames": request.FILES.getlist("frames"),
        })
        data.is_valid(raise_exception=True)
        label_class = self.project.label_classes.filter(pk=data.validated_data["label_class"]).first()
        if label_class is None:
            raise ValidationError({"label_class": f"No class {data.validated_data['label_class']} in this project."})
        result = camera_services.camera_capture(
            project=self.project, user=request.user, label_class=label_class,
            frames=data.validated_data["frames"], faces=data.validated_data["faces"],
        )
        body = {
            "images": result.stored, "stored": len(result.stored), "duplicates": result.duplicates,
            "faces": result.faces, "no_face": result.no_face, "errors": result.errors, "counts": _counts(self.project),
        }
        return Response(body, status=status.HTTP_201_CREATED if result.stored else status.HTTP_200_OK)


def _counts(project) -> dict[str, int]:
    return {str(k): v for k, v in selectors_camera.capture_counts(project=project).items()}
