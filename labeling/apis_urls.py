"""Images from a list of URLs: the list is checked during the request, the downloads run as a job."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework import serializers as drf
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .apis import ProjectScoped
from .models import Job, UrlImportLine
from .permissions import MANAGE, VIEW, ProjectRolePermission, visible_projects
from .serializers import JobSerializer
from .services import url_import as url_import_services


class UrlImportSerializer(drf.Serializer):
    file = drf.FileField(
        help_text="A text file with one http(s) URL a line, or a CSV file (its first column, or a `url` column)."
    )


class UrlImport(ProjectScoped, APIView):
    """Queue the download of every URL of the list (manager); 202 with the job, 400 naming the line."""

    project_actions = {"POST": MANAGE}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": UrlImportSerializer}, responses={202: JobSerializer})
    def post(self, request, project_id):
        data = UrlImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        # One byte past the limit is enough to know the file is too big.
        content = upload.read(settings.URL_IMPORT_MAX_LIST_BYTES + 1)
        try:
            url_list = url_import_services.url_list_parse(name=upload.name or "", data=content)
        except url_import_services.UrlListError as exc:
            raise ValidationError({"file": exc.messages}) from None
        job = url_import_services.url_import_start(project=self.project, user=request.user, url_list=url_list)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class UrlImportLineSerializer(drf.ModelSerializer):
    class Meta:
        model = UrlImportLine
        fields = ["line", "url", "outcome", "detail", "image"]
        read_only_fields = fields


class UrlImportLines(generics.ListAPIView):
    """A URL import job's report, a row per line in line order: ``?outcome=refused`` (or
    ``outcome__in=duplicate,refused``) for the problems. Paginated like every list."""

    serializer_class = UrlImportLineSerializer
    permission_classes = [ProjectRolePermission]
    project_actions = {"GET": VIEW}
    queryset = UrlImportLine.objects.none()  # for the schema; get_queryset() is the real one
    filterset_fields = {"outcome": ["exact", "in"]}

    @cached_property
    def job(self):
        jobs = Job.objects.filter(project__in=visible_projects(self.request.user), kind="import_urls")
        return get_object_or_404(jobs.only("id", "project_id"), pk=self.kwargs["pk"])

    def get_project(self):
        return self.job.project

    def get_queryset(self):
        return UrlImportLine.objects.filter(job_id=self.job.pk).order_by("line")

