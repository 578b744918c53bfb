import pytest
from rest_framework.test import APIClient

from labeling.models import Membership

from .factories import ImageFactory, LabelClassFactory, MembershipFactory, ProjectFactory, UserFactory


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def classes(project):
    return [LabelClassFactory(project=project, name=n, hotkey=str(i + 1)) for i, n in enumerate(["cat", "dog", "bird"])]


@pytest.fixture
def image(project):
    return ImageFactory(project=project)


def _member(project, role):
    return MembershipFactory(project=project, role=role, user=UserFactory(username=f"{role}-{project.pk}")).user


@pytest.fixture
def manager(project):
    return _member(project, Membership.Role.MANAGER)


@pytest.fixture
def reviewer(project):
    return _member(project, Membership.Role.REVIEWER)


@pytest.fixture
def annotator(project):
    return _member(project, Membership.Role.ANNOTATOR)


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def client_for():
    """An API client signed in as the given user (by token, as scripts do)."""

    def make(user):
        from rest_framework.authtoken.models import Token

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client

    return make
