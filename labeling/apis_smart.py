"""Smart drawing tools (issue 14): thin views over labeling/services/smart.py.

They compute a shape and return it; nothing is stored. The workspace saves the result through
the annotation API, so a smart shape is checked, stored and edited like a hand-drawn one.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf
from rest_framework.response import Response
from rest_framework.views import APIView

from .apis import ImageScoped
from .permissions import ANNOTATE
from .services import smart as smart_services

MAX_STROKES = 50
MAX_STROKE_POINTS = 2000


class BoxSerializer(drf.Serializer):
    x = drf.FloatField()
    y = drf.FloatField()
    w = drf.FloatField()
    h = drf.FloatField()


class StrokeSerializer(drf.Serializer):
    label = drf.ChoiceField(choices=["fg", "bg"], help_text="`fg`: part of the object; `bg`: not.")
    points = drf.ListField(
        child=drf.ListField(child=drf.FloatField(), min_length=2, max_length=2),
        min_length=1, max_length=MAX_STROKE_POINTS, help_text="[[x, y], ...] in image pixels.",
    )
    radius = drf.FloatField(min_value=0.5, max_value=500, default=3.0, help_text="In image pixels.")


class BoxMaskSerializer(drf.Serializer):
    box = BoxSerializer(help_text="In image pixels; inside the image; w and h > 0.")
    strokes = StrokeSerializer(many=True, required=False, default=list, max_length=MAX_STROKES)


class BoxMaskResultSerializer(drf.Serializer):
    rle = drf.DictField(help_text="COCO compressed RLE of the whole image: {size: [h, w], counts}.")
    area = drf.IntegerField()
    bbox = drf.ListField(child=drf.IntegerField(), allow_null=True)
    timing_ms = drf.DictField()


class BoxMask(ImageScoped, APIView):
    """The object in a box as a mask (GrabCut on the box's region), refined by fg/bg strokes."""

    project_actions = {"POST": ANNOTATE}

    @extend_schema(request=BoxMaskSerializer, responses=BoxMaskResultSerializer)
    def post(self, request, pk):
        data = BoxMaskSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = smart_services.smart_box_mask(
            image=self.image, box=data.validated_data["box"], strokes=data.validated_data["strokes"]
        )
        return Response(result)


class SuperpixelsSerializer(drf.Serializer):
    region = BoxSerializer(help_text="The part of the image to divide (usually the visible part), in image pixels.")


class SuperpixelsResultSerializer(drf.Serializer):
    x0 = drf.IntegerField()
    y0 = drf.IntegerField()
    x1 = drf.IntegerField()
    y1 = drf.IntegerField()
    rows = drf.IntegerField()
    cols = drf.IntegerField()
    count = drf.IntegerField()
    labels = drf.CharField(help_text="base64 of little-endian uint16 labels, rows × cols, row-major.")
    timing_ms = drf.DictField()


class Superpixels(ImageScoped, APIView):
    """SLIC superpixels of a region, for the superpixel brush (computed once per region)."""

    project_actions = {"POST": ANNOTATE}

    @extend_schema(request=SuperpixelsSerializer, responses=SuperpixelsResultSerializer)
    def post(self, request, pk):
        data = SuperpixelsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(smart_services.smart_superpixels(image=self.image, region=data.validated_data["region"]))
