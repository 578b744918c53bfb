"""The review grid page: one class at a time, proposals (or, for reviewers, people's labels) as crops."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from . import selectors
from .permissions import REVIEW, can, role_in
from .selectors_review import classes_with_proposals


@login_required
def review_page(request, project_id):
    project = get_object_or_404(selectors.project_list(user=request.user), pk=project_id)
    classes = list(classes_with_proposals(project=project))
    first = next((c for c in classes if c.proposed), classes[0] if classes else None)
    # ?class=ID opens the grid on that class (the MAIA page links its training proposals this way).
    asked = request.GET.get("class", "")
    first = next((c for c in classes if asked.isdigit() and c.pk == int(asked)), first)
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
