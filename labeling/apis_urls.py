"""Images from a list of URLs: the list is checked during the request, the downloads run as a job."""

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .apis import ProjectScoped
from .permissions import MANAGE
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
