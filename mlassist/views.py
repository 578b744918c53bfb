"""The project's model page: versions, metrics, a learning curve, "Train now", failures and the queue's why."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from labeling import selectors
from labeling.permissions import MANAGE, REVIEW, can, role_in

from .models import ModelVersion
from .selectors import suspicious_label_rows


@login_required
def model_page(request, project_id):
    project = get_object_or_404(selectors.project_list(user=request.user), pk=project_id)
    serving_classifier = ModelVersion.objects.filter(project=project, kind="classifier", in_service=True).first()
    return render(
        request,
        "mlassist/model.html",
        {
            "project": project,
            "role": role_in(request.user, project),
            "can_train": can(request.user, project, REVIEW),
            "can_manage": can(request.user, project, MANAGE),
            "random_weights": settings.MLASSIST_BACKBONE_WEIGHTS == "none",
            "backbone": f"{settings.MLASSIST_BACKBONE} at {settings.MLASSIST_INPUT_SIZE} px",
            "serving_classifier": serving_classifier,
            "queue_head": selectors.uncertainty_queue_head(project=project),
            "suspicious": suspicious_label_rows(project=project),
        },
    )


@login_required
def maia_page(request, project_id):
    """MAIA's four stages on one page: start novelty detection, pick in the grid, train, review candidates."""
    project = get_object_or_404(selectors.project_list(user=request.user), pk=project_id)
    return render(
        request,
        "mlassist/maia.html",
        {
            "project": project,
            "role": role_in(request.user, project),
            "can_run": can(request.user, project, REVIEW),
            "geometry": next((k for k in ("mask", "box") if k in project.kinds), ""),
        },
    )
