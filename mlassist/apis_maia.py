"""MAIA runs: start one (stage 1, novelty detection) and see its four stages."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.apis import ProjectScoped
from labeling.permissions import REVIEW, VIEW
from labeling.serializers import JobSerializer

from .services.maia import maia_start, maia_state
from .services.maia_stages import maia_detector_start


class MaiaStartSerializer(serializers.Serializer):
    # The names, not an import of ml.novelty: the web process never imports the Keras side.
    method = serializers.ChoiceField(choices=["autoencoder", "density"], required=False,
                                     help_text="Background model; the default is the better one measured.")


class MaiaStageSerializer(serializers.Serializer):
    stage = serializers.CharField()
    title = serializers.CharField()
    state = serializers.CharField()
    progress = serializers.FloatField()


class MaiaStateSerializer(serializers.Serializer):
    run = JobSerializer(allow_null=True)
    stages = MaiaStageSerializer(many=True)
    proposals = serializers.DictField(child=serializers.IntegerField(),
                                      help_text="Training proposals by state: proposed, accepted, rejected.")
    object_class = serializers.IntegerField(allow_null=True, help_text="The class MAIA's proposals are stored in.")
    candidates = serializers.DictField(child=serializers.IntegerField(),
                                       help_text="Stage 4: the detector's annotation candidates by state.")


class Maia(ProjectScoped, APIView):
    """POST starts a run (202, its job); GET the latest run, its stages and its proposals by state."""

    project_actions = {"GET": VIEW, "POST": REVIEW}  # everyone follows the run; reviewers run it

    @extend_schema(responses=MaiaStateSerializer)
    def get(self, request, project_id):
        return Response(MaiaStateSerializer(maia_state(project=self.project)).data)

    @extend_schema(request=MaiaStartSerializer, responses={202: MaiaStateSerializer})
    def post(self, request, project_id):
        data = MaiaStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        maia_start(project=self.project, user=request.user, method=data.validated_data.get("method"))
        return Response(MaiaStateSerializer(maia_state(project=self.project)).data, status=status.HTTP_202_ACCEPTED)


class MaiaDetector(ProjectScoped, APIView):
    """Stage 3: the training proposals nobody picked become negatives (rejected) and a training run
    is requested; its head trains on the picked ones (and every accepted label) and proposes the
    candidates of stage 4 on every image. 400 naming what is missing when stage 1 has not finished
    or too few images have picked objects."""

    project_actions = {"POST": REVIEW}

    @extend_schema(request=None, responses={202: MaiaStateSerializer})
    def post(self, request, project_id):
        maia_detector_start(project=self.project, user=request.user)
        return Response(MaiaStateSerializer(maia_state(project=self.project)).data, status=status.HTTP_202_ACCEPTED)
