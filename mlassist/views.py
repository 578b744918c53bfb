"""The project's model page: versions, metrics, a learning curve and "Train now" with progress."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from labeling import selectors
from labeling.permissions import REVIEW, can, role_in


@login_required
def model_page(request, project_id):
    project = get_object_or_404(selectors.project_list(user=request.user), pk=project_id)
    return render(
        request,
        "mlassist/model.html",
        {
            "project": project,
            "role": role_in(request.user, project),
            "can_train": can(request.user, project, REVIEW),
            "random_weights": settings.MLASSIST_BACKBONE_WEIGHTS == "none",
            "backbone": f"{settings.MLASSIST_BACKBONE} at {settings.MLASSIST_INPUT_SIZE} px",
        },
    )
