"""The review grid page: one class at a time, proposals (or, for reviewers, people's labels) as crops."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from . import selectors
from .models import Annotation
from .permissions import REVIEW, can, role_in


@login_required
def review_page(request, project_id):
    project = get_object_or_404(selectors.project_list(user=request.user), pk=project_id)
    classes = list(
        selectors.label_class_list(project=project).annotate(
            proposed=Count("annotations", filter=Q(annotations__state=Annotation.State.PROPOSED))
        )
    )
    first = next((c for c in classes if c.proposed), classes[0] if classes else None)
    config = {
        "project": project.pk,
        "kinds": project.kinds,
        "canReview": can(request.user, project, REVIEW),
        "defaultClass": first.pk if first else None,
        "classes": [
            {"id": c.pk, "name": c.name, "color": c.color, "hotkey": c.hotkey, "proposed": c.proposed} for c in classes
        ],
        "urls": {
            "list": reverse("api-review-annotations", args=[project.pk]),
            "bulk": reverse("api-annotations-bulk", args=[project.pk]),
            "similar": reverse("api-annotation-similar", args=[0]),
            "file": reverse("api-image-file", args=[0]),
            "thumbnail": reverse("api-image-thumbnail", args=[0]),
            # A tile opens its image in the workspace with that object selected (?annotation=).
            "workspace": reverse("workspace", args=[project.pk, 0]),
        },
    }
    return render(
        request,
        "labeling/review.html",
        {"project": project, "role": role_in(request.user, project), "classes": classes, "config": config},
    )
