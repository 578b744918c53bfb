"""The REST API: thin views that check permissions, parse input and make one service call."""

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, serializers
from .models import Image, Job, LabelClass, Membership, Project
from .permissions import (
    ANNOTATE,
    MANAGE,
    REVIEW,
    VIEW,
    CREATE_PROJECT_REFUSED,
    ProjectRolePermission,
    can,
    can_create_project,
    can_set_image_status,
    visible_projects,
)
from .services import images as image_services
from .services import jobs as job_services
from .services import projects as project_services


class ProjectScoped:
    """Views under /api/projects/{project_id}/: the project is found among the user's, or 404."""

    permission_classes = [ProjectRolePermission]

    @cached_property
    def project(self):
        return get_object_or_404(selectors.project_list(user=self.request.user), pk=self.kwargs["project_id"])

    def get_project(self):
        return self.project


class ProjectList(generics.ListCreateAPIView):
    serializer_class = serializers.ProjectSerializer
    queryset = Project.objects.none()  # for the schema; get_queryset() is the real one

    def get_queryset(self):
        return selectors.project_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        # Before validating: whoever may not create projects learns nothing more from a 400.
        if not can_create_project(request.user):
            raise PermissionDenied(CREATE_PROJECT_REFUSED)
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = project_services.project_create(user=self.request.user, **serializer.validated_data)


class ProjectDetail(ProjectScoped, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = serializers.ProjectSerializer
    project_actions = {"GET": VIEW, "HEAD": VIEW, "OPTIONS": VIEW, "PATCH": MANAGE, "PUT": MANAGE, "DELETE": MANAGE}

    def get_object(self):
        return self.project

    def perform_update(self, serializer):
        serializer.instance = project_services.project_update(project=self.project, **serializer.validated_data)

    def perform_destroy(self, instance):
        project_services.project_delete(project=instance)


class MemberList(ProjectScoped, APIView):
    project_actions = {"GET": VIEW, "POST": MANAGE}

    @extend_schema(responses=serializers.MembershipSerializer(many=True))
    def get(self, request, project_id):
        members = selectors.membership_list(project=self.project)
        return Response(serializers.MembershipSerializer(members, many=True).data)

    @extend_schema(request=serializers.MembershipInputSerializer, responses=serializers.MembershipSerializer)
    def post(self, request, project_id):
        data = serializers.MembershipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = project_services.membership_set(project=self.project, **data.validated_data)
        return Response(serializers.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetail(ProjectScoped, APIView):
    project_actions = {"GET": VIEW, "PATCH": MANAGE, "DELETE": MANAGE}

    def _membership(self):
        return get_object_or_404(Membership.objects.select_related("user"), project=self.project, pk=self.kwargs["pk"])

    @extend_schema(responses=serializers.MembershipSerializer)
    def get(self, request, project_id, pk):
        return Response(serializers.MembershipSerializer(self._membership()).data)

    @extend_schema(request=serializers.MembershipInputSerializer, responses=serializers.MembershipSerializer)
    def patch(self, request, project_id, pk):
        membership = self._membership()
        if not isinstance(request.data, dict):  # a list or a bare value cannot be spread: 400, not a TypeError
            raise ValidationError({"body": 'Send a JSON object, for example {"role": "reviewer"}.'})
        role = serializers.MembershipInputSerializer(data={"username": membership.user.username, **request.data})
        role.is_valid(raise_exception=True)
        membership = project_services.membership_role_set(membership=membership, role=role.validated_data["role"])
        return Response(serializers.MembershipSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, project_id, pk):
        project_services.membership_remove(membership=self._membership())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LabelClassList(ProjectScoped, generics.ListCreateAPIView):
    serializer_class = serializers.LabelClassSerializer
    queryset = LabelClass.objects.none()  # for the schema; get_queryset() is the real one
    pagination_class = None
    project_actions = {"GET": VIEW, "POST": MANAGE}

    def get_queryset(self):
        return selectors.label_class_list(project=self.project)

    def perform_create(self, serializer):
        serializer.instance = project_services.label_class_create(project=self.project, **serializer.validated_data)


class LabelClassDetail(ProjectScoped, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = serializers.LabelClassSerializer
    project_actions = {"GET": VIEW, "PATCH": MANAGE, "PUT": MANAGE, "DELETE": MANAGE}

    def get_queryset(self):
        return selectors.label_class_list(project=self.project)

    def perform_update(self, serializer):
        serializer.instance = project_services.label_class_update(label_class=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        project_services.label_class_delete(label_class=instance)


class ImageFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Image.Status.choices)
    file_name = filters.CharFilter(lookup_expr="icontains")
    has_labels = filters.BooleanFilter()
    has_proposals = filters.BooleanFilter()

    class Meta:
        model = Image
        fields = ["status", "file_name", "has_labels", "has_proposals"]


class ImageList(ProjectScoped, generics.ListAPIView):
    serializer_class = serializers.ImageSerializer
    queryset = Image.objects.none()  # for the schema; get_queryset() is the real one
    filterset_class = ImageFilter
    parser_classes = [MultiPartParser, FormParser]
    project_actions = {"GET": VIEW, "POST": MANAGE}

    def get_queryset(self):
        return selectors.image_list(project=self.project)

    @extend_schema(
        request={"multipart/form-data": serializers.UploadSerializer},
        responses={201: serializers.UploadResultSerializer, 400: serializers.UploadResultSerializer},
    )
    def post(self, request, project_id):
        files = request.FILES.getlist("files")
        if not files:
            raise ValidationError({"files": "Send one or more files (images or zips) in the `files` field."})
        result = image_services.image_upload(project=self.project, user=request.user, files=files)
        body = {
            "created": serializers.ImageSerializer(result.created, many=True).data,
            "errors": result.errors,
        }
        if not result.created:
            first = result.errors[0] if result.errors else {"file": "", "detail": "No file was stored."}
            body["detail"] = f"Nothing was stored. {first['file']}: {first['detail']}"
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=status.HTTP_201_CREATED)


class NextImage(ProjectScoped, APIView):
    project_actions = {"GET": ANNOTATE}

    @extend_schema(
        parameters=[OpenApiParameter("skip", str, description="Comma-separated image ids to pass over.")],
        responses={200: serializers.NextImageSerializer, 204: None},
    )
    def get(self, request, project_id):
        try:
            skip = [int(x) for x in request.query_params.get("skip", "").split(",") if x.strip()]
        except ValueError:
            raise ValidationError({"skip": "Give image ids separated by commas."}) from None
        # The service keeps only the last MAX_SKIP ids and ignores other projects' ones.
        image = image_services.image_claim_next(project=self.project, user=request.user, skip=skip)
        if image is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        reason = selectors.queue_reason(project=self.project, image=image, resumed=image.resumed)
        return Response({**serializers.ImageSerializer(image).data, "reason": reason})


class ProjectStats(ProjectScoped, APIView):
    project_actions = {"GET": VIEW}

    @extend_schema(responses=serializers.StatsSerializer)
    def get(self, request, project_id):
        return Response(selectors.project_stats(project=self.project))


class ImageScoped:
    """Views under /api/images/{id}/: the image is found among the user's projects, or 404."""

    permission_classes = [ProjectRolePermission]

    @cached_property
    def image(self):
        return get_object_or_404(selectors.images_visible(user=self.request.user), pk=self.kwargs["pk"])

    def get_project(self):
        return self.image.project


class ImageDetail(ImageScoped, APIView):
    project_actions = {"GET": VIEW, "PATCH": ANNOTATE, "DELETE": MANAGE}

    @extend_schema(responses=serializers.ImageSerializer)
    def get(self, request, pk):
        return Response(serializers.ImageSerializer(self.image).data)

    @extend_schema(request=serializers.ImageStatusSerializer, responses=serializers.ImageSerializer)
    def patch(self, request, pk):
        data = serializers.ImageStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not can_set_image_status(request.user, self.image, data.validated_data["status"]):
            raise PermissionDenied("Only reviewers and managers mark images reviewed or take that back.")
        image = image_services.image_status_set(image=self.image, status=data.validated_data["status"])
        return Response(serializers.ImageSerializer(image).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        image_services.image_delete(image=self.image)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _file_response(field_file, content_type: str | None = None, download_name: str | None = None):
    storage = field_file.storage
    disposition = f'attachment; filename="{download_name}"' if download_name else None
    try:
        storage.path(field_file.name)
    except NotImplementedError:
        # Object storage: send the browser to a short-lived signed URL instead of proxying bytes. A
        # header on the redirect would not reach the download: the signed URL asks the store to send it.
        parameters = {"ResponseContentDisposition": disposition} if disposition else None
        return HttpResponseRedirect(storage.url(field_file.name, parameters=parameters))
    response = FileResponse(storage.open(field_file.name, "rb"), content_type=content_type)
    if disposition:
        response["Content-Disposition"] = disposition
    # Files are named by content hash, so they never change under a URL: cache them long, privately.
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


class ImageFile(ImageScoped, APIView):
    project_actions = {"GET": VIEW}

    @extend_schema(responses={(200, "image/*"): bytes})
    def get(self, request, pk):
        return _file_response(self.image.file, f"image/{self.image.format.lower()}")


class ImageThumbnail(ImageScoped, APIView):
    project_actions = {"GET": VIEW}

    @extend_schema(responses={(200, "image/jpeg"): bytes})
    def get(self, request, pk):
        if not self.image.thumbnail:  # not made yet by the worker: the full image will do meanwhile
            response = _file_response(self.image.file, f"image/{self.image.format.lower()}")
            response["Cache-Control"] = "private, no-cache"
            return response
        return _file_response(self.image.thumbnail, "image/jpeg")


class JobList(ProjectScoped, generics.ListAPIView):
    """The project's background jobs, newest first; ``?state__in=queued,running`` for the active ones,
    ``?state=failed&finished_at__gte=...`` for recent failures. Without ``result`` (see the job itself)."""

    serializer_class = serializers.JobListSerializer
    queryset = Job.objects.none()  # for the schema; get_queryset() is the real one
    project_actions = {"GET": VIEW}
    filterset_fields = {"state": ["exact", "in"], "kind": ["exact"], "finished_at": ["gte"]}

    def get_queryset(self):
        return selectors.job_list(project=self.project)


class JobDetail(APIView):
    permission_classes = [ProjectRolePermission]
    project_actions = {"GET": VIEW}

    @cached_property
    def job(self):
        # Not params (a URL import's whole list): polling a job must not load it each time.
        jobs = Job.objects.defer("params").filter(project__in=visible_projects(self.request.user))
        return get_object_or_404(jobs, pk=self.kwargs["pk"])

    def get_project(self):
        return self.job.project

    @extend_schema(responses=serializers.JobSerializer)
    def get(self, request, pk):
        return Response(serializers.JobSerializer(self.job, context={"request": request}).data)


class JobRetry(JobDetail):
    """POST: queue a failed job again. Managers retry exports and imports; whoever may train or
    propose retries the model's jobs."""

    http_method_names = ["post", "options"]  # not JobDetail's GET
    project_actions = {"POST": VIEW}  # the role the job's kind needs is checked below
    retry_actions = {"coco_export": MANAGE, "coco_import": MANAGE, "import_urls": MANAGE,
                     "features": REVIEW, "propose": REVIEW}

    @classmethod
    def allowed(cls, user, job) -> bool:
        action = cls.retry_actions.get(job.kind)
        return action is not None and can(user, job.project, action)

    @extend_schema(request=None, responses={202: serializers.JobSerializer})
    def post(self, request, pk):
        if not self.allowed(request.user, self.job):
            raise PermissionDenied("Your role in this project may not retry this job.")
        try:
            job = job_services.job_retry(job=self.job)
        except ValueError as exc:
            raise DRFValidationError({"state": [str(exc)]}) from None
        return Response(serializers.JobSerializer(job, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


class JobResult(JobDetail):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk):
        if not self.job.result_file:
            raise NotFound("This job has no file (yet).")
        return _file_response(self.job.result_file, download_name=self.job.result_file.name.rsplit("/", 1)[-1])
