"""Races between requests give clean answers: a save on an image being deleted, two managers
demoting each other. Real threads, each on its own PostgreSQL connection.

The interleavings are made deterministic without timing: one side runs inside a transaction the
test holds open, and the test waits until PostgreSQL reports the other side waiting for a lock
before letting the first commit. Row locks are what is under test, and SQLite has none (it locks
the whole file), so these tests need PostgreSQL (DATABASE_URL), as CI runs them.
"""

import threading

import pytest
from django.conf import settings
from django.db import connection, transaction

from labeling.models import Annotation, Image, Membership
from labeling.services.annotations import annotation_create
from labeling.services.images import image_delete
from labeling.services.projects import membership_role_set

from ..factories import ImageFactory, LabelClassFactory, MembershipFactory, ProjectFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        reason="row locks: needs PostgreSQL (DATABASE_URL), as in CI",
    ),
]

BOX = {"kind": "box", "geometry": {"x": 1, "y": 1, "w": 5, "h": 5}}
GUARD_SECONDS = 60  # only so that a broken test fails instead of hanging; never reached when it works


def _wait_for_a_lock_wait():
    """Return once another connection of this database waits for a lock (no timing involved)."""
    done = threading.Event()
    while not done.wait(0.02):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
        _wait_for_a_lock_wait.polls += 1
        assert _wait_for_a_lock_wait.polls < GUARD_SECONDS * 50, "nobody ever waited for the lock"


_wait_for_a_lock_wait.polls = 0


class Held(threading.Thread):
    """Runs ``work`` in a transaction and keeps it open (its locks held) until ``commit()``."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self.work, self.ready, self.go, self.error, self.result = work, threading.Event(), threading.Event(), None, None

    def run(self):
        try:
            with transaction.atomic():
                self.result = self.work()
                self.ready.set()
                self.go.wait(GUARD_SECONDS)
        except Exception as exc:  # reported by the test
            self.error = exc
        finally:
            self.ready.set()
            connection.close()

    def start_and_hold(self):
        self.start()
        assert self.ready.wait(GUARD_SECONDS)
        return self

    def commit(self):
        self.go.set()
        self.join(GUARD_SECONDS)


class Request(threading.Thread):
    """One API request in its own thread (and database connection)."""

    def __init__(self, client, method, url, data=None):
        super().__init__(daemon=True)
        self.call = lambda: getattr(client, method)(url, data, format="json")
        self.response = None

    def run(self):
        try:
            self.response = self.call()
        except Exception as exc:  # the test client re-raises a view's exception (a 500 in production)
            self.response = _ServerError(exc)
        finally:
            connection.close()


class _ServerError:
    status_code = 500

    def __init__(self, exc):
        self.content = repr(exc).encode()


@pytest.fixture
def scene(client_for):
    project = ProjectFactory()
    cls = LabelClassFactory(project=project, name="cat")
    image = ImageFactory(project=project)
    manager = MembershipFactory(project=project, role="manager", user=UserFactory(username="boss")).user
    annotator = MembershipFactory(project=project, role="annotator", user=UserFactory(username="ann")).user
    return {"project": project, "cls": cls, "image": image, "manager": manager, "annotator": annotator,
            "api": {"manager": client_for(manager), "annotator": client_for(annotator)}}


def test_a_save_arriving_while_the_image_is_deleted_gets_a_404(scene):
    image, api = scene["image"], scene["api"]
    deleting = Held(lambda: image_delete(image=Image.objects.get(pk=image.pk))).start_and_hold()
    save = Request(api["annotator"], "post", f"/api/images/{image.pk}/annotations/", {"label_class": scene["cls"].pk, **BOX})
    save.start()
    _wait_for_a_lock_wait()  # the save waits for the delete to finish
    deleting.commit()
    save.join(GUARD_SECONDS)
    assert deleting.error is None
    assert save.response.status_code == 404, save.response.content
    assert save.response.json()["detail"] == f"Image {image.pk} was deleted while this was being saved."
    assert not Image.objects.filter(pk=image.pk).exists() and not Annotation.objects.exists()


def test_a_delete_arriving_during_a_save_waits_and_takes_the_new_annotation_with_it(scene):
    image, api = scene["image"], scene["api"]
    data = {"label_class": scene["cls"].pk, **BOX}
    saving = Held(
        lambda: annotation_create(image=Image.objects.get(pk=image.pk), user=scene["annotator"], data=data)
    ).start_and_hold()
    delete = Request(api["manager"], "delete", f"/api/images/{image.pk}/")
    delete.start()
    _wait_for_a_lock_wait()  # the delete waits for the save to commit
    saving.commit()
    delete.join(GUARD_SECONDS)
    assert saving.error is None and saving.result.pk
    assert delete.response.status_code == 204, delete.response.content
    assert not Image.objects.filter(pk=image.pk).exists() and not Annotation.objects.exists()


def test_two_managers_demoting_each_other_one_wins_and_the_other_is_told_why(scene):
    project, first = scene["project"], scene["manager"]
    second = MembershipFactory(project=project, role="manager", user=UserFactory(username="co-boss")).user
    first_membership = Membership.objects.get(project=project, user=first)
    second_membership = Membership.objects.get(project=project, user=second)
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    second_api = APIClient()
    second_api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=second)[0].key}")
    # The first manager's demotion of the second is under way...
    demoting = Held(lambda: membership_role_set(membership=second_membership, role="annotator")).start_and_hold()
    # ...when the second (still a manager when the request arrives) demotes the first.
    counter = Request(second_api, "patch", f"/api/projects/{project.pk}/members/{first_membership.pk}/",
                      {"role": "annotator"})
    counter.start()
    _wait_for_a_lock_wait()
    demoting.commit()
    counter.join(GUARD_SECONDS)
    assert demoting.error is None
    assert counter.response.status_code == 400, counter.response.content
    assert counter.response.json()["detail"] == "role: A project keeps at least one manager."
    managers = Membership.objects.filter(project=project, role="manager").values_list("user__username", flat=True)
    assert list(managers) == [first.username]


def test_managers_demoting_each_other_at_the_same_moment_never_deadlock(scene):
    """Both requests released together, many times: each round one wins and one is refused, never a 500."""
    project = scene["project"]
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    users = [scene["manager"], MembershipFactory(project=project, role="manager", user=UserFactory(username="co")).user]
    clients = []
    for user in users:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        clients.append(client)
    for _ in range(15):
        Membership.objects.filter(project=project, user__in=users).update(role="manager")
        memberships = [Membership.objects.get(project=project, user=u) for u in users]
        start = threading.Barrier(2)
        requests = []
        for client, target in ((clients[0], memberships[1]), (clients[1], memberships[0])):
            request = Request(client, "patch", f"/api/projects/{project.pk}/members/{target.pk}/", {"role": "annotator"})
            original = request.call
            request.call = lambda original=original: (start.wait(GUARD_SECONDS), original())[1]
            requests.append(request)
        for request in requests:
            request.start()
        for request in requests:
            request.join(GUARD_SECONDS)
        codes = sorted(r.response.status_code for r in requests)
        # The loser is refused under the lock (400, the last manager) or, when it comes in after the
        # winner's commit, by its new role (403): a clear answer either way.
        assert codes in ([200, 400], [200, 403]), [r.response.content for r in requests]
        assert Membership.objects.filter(project=project, role="manager").count() == 1
