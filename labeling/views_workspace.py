"""The annotation workspace page: one image, drawn and edited in the browser through the JSON API.

The page carries only what the script needs to start (project, classes, the project's image ids
for previous/next); annotations are fetched by the script, so moving between images needs no reload.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie

from . import selectors
from .permissions import ANNOTATE, REVIEW, can, role_in
from .services import images as image_services


def _project_or_404(request, project_id):
    return get_object_or_404(selectors.project_list(user=request.user), pk=project_id)


@login_required
@ensure_csrf_cookie
def workspace(request, project_id, image_id):
    project = _project_or_404(request, project_id)
    image = get_object_or_404(project.images, pk=image_id)
    classes = list(selectors.label_class_list(project=project).values("id", "name", "color", "hotkey", "order"))
    config = {
        "project": {"id": project.pk, "name": project.name, "kinds": project.kinds, "multilabel": project.multilabel},
        "classes": classes,
        "imageIds": list(project.images.order_by("id").values_list("id", flat=True)),
        "imageId": image.pk,
        "canAnnotate": can(request.user, project, ANNOTATE),
        "role": role_in(request.user, project),
        # Why the queue chose this image, when the page was reached through it ("Start labelling").
        "queueReason": _queue_reason_taken(request, project, image),
    }
    # The review section (reviewed / send back) is drawn only for those the API lets judge.
    context = {"project": project, "image": image, "config": config, "can_review": can(request.user, project, REVIEW)}
    return render(request, "labeling/workspace.html", context)


@login_required
def workspace_next(request, project_id):
    """The next image from the project's queue, or back to the project when there is none."""
    project = _project_or_404(request, project_id)
    image = image_services.image_claim_next(project=project, user=request.user) if can(request.user, project, ANNOTATE) else None
    if image is None:
        messages.info(request, "No image is waiting to be labelled.")
        return redirect("project-detail", project_id=project.pk)
    # Kept for the page it redirects to (not in its URL, which stays the image's own address).
    request.session[QUEUE_REASON_KEY] = {
        "image": image.pk, "reason": selectors.queue_reason(project=project, image=image, resumed=image.resumed)}
    return redirect("workspace", project_id=project.pk, image_id=image.pk)


QUEUE_REASON_KEY = "workspace_queue_reason"


def _queue_reason_taken(request, project, image) -> dict | None:
    """The reason workspace_next stored for this image, once (a reload of the page no longer says it)."""
    stored = request.session.get(QUEUE_REASON_KEY)
    if not stored or stored.get("image") != image.pk:
        return None
    del request.session[QUEUE_REASON_KEY]
    return stored["reason"]
