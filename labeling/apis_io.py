"""Data in and out: COCO export and import. Big work goes to a job (202); small work answers at once."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .apis import ProjectScoped
from .coco.bundle import BundleError, bundle_json_copy, is_zip
from .models import Annotation
from .permissions import MANAGE
from .serializers import JobSerializer
from .services import coco as coco_services


class ExportQuerySerializer(drf.Serializer):
    states = drf.CharField(required=False, default="accepted", help_text="Comma-separated: accepted,proposed,rejected")
    mask_format = drf.ChoiceField(choices=["rle", "polygon"], required=False, default="rle")
    images = drf.CharField(required=False, default="", help_text="Comma-separated image ids (default: all)")
    # Not "format": DRF reads that query parameter as a renderer override.
    output = drf.ChoiceField(
        choices=coco_services.EXPORT_FORMATS, required=False, default="json",
        help_text="json (COCO), zip (COCO and the images), tags_csv (file_name,labels)",
    )
    job = drf.BooleanField(required=False, default=False, help_text="Always run as a background job.")

    def validate_states(self, value):
        states = [s.strip() for s in value.split(",") if s.strip()]
        unknown = [s for s in states if s not in Annotation.State.values]
        if unknown or not states:
            raise drf.ValidationError(f"Use any of {', '.join(Annotation.State.values)}, separated by commas.")
        return states

    def validate_images(self, value):
        try:
            return [int(x) for x in value.split(",") if x.strip()]
        except ValueError:
            raise drf.ValidationError("Give image ids separated by commas.") from None


class CocoExport(ProjectScoped, APIView):
    project_actions = {"GET": MANAGE}

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={(200, "application/json"): bytes, 202: JobSerializer},
    )
    def get(self, request, project_id):
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = dict(query.validated_data)
        force_job = options.pop("job")
        if options["images"]:
            unknown = set(options["images"]) - set(self.project.images.filter(pk__in=options["images"]).values_list("id", flat=True))
            if unknown:
                raise ValidationError({"images": f"No image {sorted(unknown)[0]} in this project."})
        size = coco_services.coco_export_size(project=self.project, states=options["states"], image_ids=options["images"])
        if force_job or options["output"] == "zip" or size > settings.COCO_EXPORT_SYNC_MAX_ANNOTATIONS:
            job = coco_services.coco_export_start(project=self.project, user=request.user, options=options)
            return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        if options["output"] == "tags_csv":
            chunks = coco_services.tags_csv_chunks(project=self.project, states=options["states"], image_ids=options["images"])
            response = StreamingHttpResponse(chunks, content_type="text/csv")
            filename = f"project-{self.project.pk}-tags.csv"
        else:
            chunks = coco_services.coco_export_chunks(
                project=self.project, states=options["states"], mask_format=options["mask_format"],
                image_ids=options["images"],
            )
            response = StreamingHttpResponse(chunks, content_type="application/json")
            filename = f"project-{self.project.pk}-coco.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class CocoImportSerializer(drf.Serializer):
    file = drf.FileField(help_text="A COCO instances JSON file, or our own COCO zip export (JSON and images) as it is.")
    images = drf.FileField(required=False, help_text="Optional zip of the images, matched by file_name.")


class CocoImportResultSerializer(drf.Serializer):
    annotations = drf.IntegerField()
    images = drf.IntegerField()
    classes_created = drf.ListField(child=drf.CharField())


class CocoImport(ProjectScoped, APIView):
    project_actions = {"POST": MANAGE}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": CocoImportSerializer},
        responses={201: CocoImportResultSerializer, 202: JobSerializer},
    )
    def post(self, request, project_id):
        data = CocoImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        coco_file, images = data.validated_data["file"], data.validated_data.get("images")
        if is_zip(coco_file):
            # Our own zip export as it downloads: its JSON is the COCO file, the archive the images.
            if images is not None:
                raise ValidationError({"images": "The file is already a zip with its images; send it alone."})
            try:
                coco_file, images = File(bundle_json_copy(coco_file, max_bytes=settings.COCO_IMPORT_MAX_BYTES),
                                         name="coco.json"), coco_file
            except BundleError as exc:
                raise ValidationError({"file": exc.detail}) from None
        if coco_file.size > settings.COCO_IMPORT_MAX_BYTES:
            raise ValidationError({"file": f"The file has {coco_file.size} bytes; the limit is {settings.COCO_IMPORT_MAX_BYTES}."})
        if images is not None or coco_file.size > settings.COCO_IMPORT_SYNC_MAX_BYTES:
            job = coco_services.coco_import_start(project=self.project, user=request.user, coco_file=coco_file, images_zip=images)
            return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        try:
            result = coco_services.coco_import(project=self.project, user=request.user, coco_file=coco_file)
        except coco_services.CocoImportError as exc:
            problems: dict[str, list[str]] = {}
            for path, detail in exc.problems:
                problems.setdefault(path, []).append(detail)
            raise ValidationError(problems) from None
        return Response(result, status=status.HTTP_201_CREATED)
