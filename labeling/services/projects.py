"""Projects, their members and their label classes."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ..models import LabelClass, Membership, Project

PROJECT_FIELDS = ("name", "description", "multilabel", "queue_order", "retrain_every", "proposal_threshold")
# A palette that stays readable on photographs; classes take the next colour in turn.
PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4"]


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


@transaction.atomic
def project_update(*, project: Project, kinds: list[str] | None = None, **fields) -> Project:
    for name, value in fields.items():
        if name not in PROJECT_FIELDS:
            raise ValidationError({name: "This field cannot be changed."})
        setattr(project, name, value)
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


def _save_class(label_class: LabelClass) -> LabelClass:
    label_class.full_clean()
    try:
        with transaction.atomic():
            label_class.save()
    except IntegrityError as exc:  # a concurrent writer took the name or hotkey first
        raise ValidationError({"name": "A class with this name or hotkey already exists."}) from exc
    return label_class


def label_class_create(*, project: Project, name: str, color: str = "", hotkey: str | None = None, order=None):
    count = project.label_classes.count()
    if hotkey is None:
        # Digits 1-9 for the first nine classes, as annotators expect.
        used = set(project.label_classes.values_list("hotkey", flat=True))
        hotkey = next((str(d) for d in range(1, 10) if str(d) not in used), "")
    label_class = LabelClass(
        project=project,
        name=name.strip(),
        color=color or PALETTE[count % len(PALETTE)],
        hotkey=hotkey,
        order=count if order is None else order,
    )
    return _save_class(label_class)


def label_class_update(*, label_class: LabelClass, **fields) -> LabelClass:
    for name, value in fields.items():
        if name not in ("name", "color", "hotkey", "order"):
            raise ValidationError({name: "This field cannot be changed."})
        setattr(label_class, name, value.strip() if name == "name" else value)
    return _save_class(label_class)


def label_class_delete(*, label_class: LabelClass) -> None:
    if label_class.annotations.exists():
        raise ValidationError(
            {"label_class": f"Class {label_class.name!r} still labels {label_class.annotations.count()} objects."}
        )
    label_class.delete()
