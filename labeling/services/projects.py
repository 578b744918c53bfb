"""Projects, their members and their label classes."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Membership, Project

# Classes live in classes.py; these names stay importable from here, where callers have them.
from .classes import PALETTE, label_class_create, label_class_delete, label_class_update  # noqa: F401

PROJECT_FIELDS = ("name", "description", "multilabel", "queue_order", "retrain_every", "proposal_threshold")


def _validate_kinds(kinds) -> None:
    if not kinds:
        raise ValidationError({"kinds": "Choose at least one annotation kind."})
    unknown = [k for k in kinds if k not in Project.Kind.values]
    if unknown:
        raise ValidationError({"kinds": f"Unknown kind {unknown[0]!r}; one of {', '.join(Project.Kind.values)}."})


@transaction.atomic
def project_create(*, user, name: str, kinds: list[str], description: str = "", **fields) -> Project:
    """Create a project; its creator becomes its manager."""
    _validate_kinds(kinds)
    project = Project(name=name, description=description, created_by=user, **fields)
    project.set_kinds(kinds)
    project.full_clean()
    project.save()
    Membership.objects.create(project=project, user=user, role=Membership.Role.MANAGER)
    return project


def _check_settings(fields: dict) -> None:
    """The ranges of the check constraints, as sentences naming the field (not the constraint)."""
    errors = {}
    if "retrain_every" in fields and not (isinstance(fields["retrain_every"], int) and fields["retrain_every"] >= 1):
        errors["retrain_every"] = "Retrain after at least 1 new label."
    threshold = fields.get("proposal_threshold", 0.5)
    if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        errors["proposal_threshold"] = "The proposal threshold is a score between 0 and 1."
    if "name" in fields and not str(fields["name"]).strip():
        errors["name"] = "Give the project a name."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def project_update(*, project: Project, kinds: list[str] | None = None, **fields) -> Project:
    _check_settings(fields)
    for name, value in fields.items():
        if name not in PROJECT_FIELDS:
            raise ValidationError({name: "This field cannot be changed."})
        setattr(project, name, value.strip() if name == "name" else value)
    if kinds is not None:
        _validate_kinds(kinds)
        project.set_kinds(kinds)
    project.full_clean()
    project.save()
    return project


def project_delete(*, project: Project) -> None:
    # Files in storage are removed by image_delete's on_commit hook for each image.
    from .images import image_delete

    with transaction.atomic():
        for image in project.images.all().iterator():
            image_delete(image=image)
        project.delete()


# One answer for every name that cannot be added, whether nobody has it or its account is
# disabled: managers of any project must not learn which names exist by probing.
NO_SUCH_USER = "No user called {!r} can be added; check the exact user name."


def _check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; one of {', '.join(Membership.Role.values)}."})


@transaction.atomic
def membership_set(*, project: Project, username: str, role: str) -> Membership:
    """Add a user (by exact, case-sensitive name) to the project, or change their role."""
    _check_role(role)
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError({"username": NO_SUCH_USER.format(username)})
    membership, created = Membership.objects.get_or_create(project=project, user=user, defaults={"role": role})
    if not created:
        membership = membership_role_set(membership=membership, role=role)
    return membership


@transaction.atomic
def membership_role_set(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the project keeps at least one manager."""
    _check_role(role)
    current = _keep_a_manager(membership.project, leaving=membership, new_role=role)
    if current.role != role:
        current.role = role
        current.save(update_fields=["role"])
    return current


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    membership = _keep_a_manager(membership.project, leaving=membership, new_role=None)
    membership.delete()


def _keep_a_manager(project: Project, *, leaving: Membership, new_role: str | None) -> Membership:
    """Refuse to let the last manager go; returns ``leaving`` as it is now, locked.

    Every manager row of the project is locked, in id order, before counting: two managers
    demoting each other at once then queue on the first row instead of each locking "the other"
    and deadlocking; the second sees the first's change and is refused (a 400, not a 500).
    """
    managers = list(
        project.memberships.select_for_update().filter(role=Membership.Role.MANAGER).order_by("pk")
    )
    current = Membership.objects.select_for_update(of=("self",)).filter(pk=leaving.pk).select_related("user").first()
    if current is None:
        raise Membership.DoesNotExist(f"{leaving.user.username} is no longer a member of this project.")
    stays_manager = new_role == Membership.Role.MANAGER
    if current.role == Membership.Role.MANAGER and not stays_manager and not any(m.pk != current.pk for m in managers):
        raise ValidationError({"role": "A project keeps at least one manager."})
    return current


IMAGES_DELETE_MAX = 10_000


def images_delete(*, project: Project, ids=(), statuses=()) -> dict:
    """Delete the named images (by id, or every image with one of the statuses) with their annotations.

    One transaction: all of them or none. Ids of other projects are not found here, as everywhere
    (an error naming the first one), so a wrong selection deletes nothing.
    """
    from ..selectors_data import delete_summary, images_to_delete
    from .images import image_delete

    ids = [int(i) for i in ids]
    unknown_status = [s for s in statuses if s not in project.images.model.Status.values]
    if unknown_status:
        raise ValidationError({"status": f"Unknown status {unknown_status[0]!r}."})
    if not ids and not statuses:
        raise ValidationError({"ids": "Choose images, or a status whose images to delete."})
    images = images_to_delete(project=project, ids=ids, statuses=statuses)
    with transaction.atomic():
        summary = delete_summary(images=images)
        if ids:
            missing = sorted(set(ids) - set(images.values_list("pk", flat=True)))
            if missing:
                raise ValidationError({"ids": f"No image {missing[0]} in this project."})
        if summary["images"] > IMAGES_DELETE_MAX:
            raise ValidationError({"status": f"{summary['images']} images; delete at most {IMAGES_DELETE_MAX} at once."})
        for image in images.iterator():
            image_delete(image=image)
    return summary
