"""Project settings through the API the settings screen uses: edit, delete images in bulk, 401s."""

import pytest
from rest_framework.test import APIClient

from labeling.models import Annotation, Image, Project

from ..factories import AnnotationFactory, ImageFactory, ProjectFactory


def test_managers_change_queue_order_retraining_and_threshold(project, manager, client_for):
    body = {"name": "Renamed", "description": "d", "queue_order": "uncertainty", "retrain_every": 25,
            "proposal_threshold": 0.35}
    response = client_for(manager).patch(f"/api/projects/{project.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    project.refresh_from_db()
    assert (project.name, project.queue_order, project.retrain_every, project.proposal_threshold) == (
        "Renamed", "uncertainty", 25, 0.35)


@pytest.mark.parametrize("field,value", [("retrain_every", 0), ("proposal_threshold", 1.5), ("queue_order", "fifo")])
def test_bad_settings_name_the_field_and_change_nothing(project, manager, client_for, field, value):
    response = client_for(manager).patch(f"/api/projects/{project.pk}/", {field: value, "name": "X"}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    project.refresh_from_db()
    assert project.name != "X"


def _world(project):
    new = [ImageFactory(project=project, status="new") for _ in range(2)]
    done = [ImageFactory(project=project, status="done") for _ in range(3)]
    for image in done:
        AnnotationFactory(image=image)
    AnnotationFactory(image=done[0])
    return new, done


def test_delete_images_by_status_tells_what_it_will_lose_then_deletes(project, manager, client_for):
    new, done = _world(project)
    client = client_for(manager)
    url = f"/api/projects/{project.pk}/images/delete/"
    assert client.get(url, {"status": "done"}).json() == {"images": 3, "annotations": 4}
    assert client.get(url, {"ids": f"{new[0].pk},{done[0].pk}"}).json() == {"images": 2, "annotations": 2}
    response = client.post(url, {"status": ["done"]}, format="json")
    assert response.status_code == 200 and response.json() == {"images": 3, "annotations": 4}
    assert sorted(Image.objects.filter(project=project).values_list("pk", flat=True)) == sorted(i.pk for i in new)
    assert not Annotation.objects.filter(image__project=project).exists()


def test_delete_images_by_id_is_all_or_nothing_with_another_projects_id(project, manager, client_for):
    new, done = _world(project)
    theirs = ImageFactory(project=ProjectFactory())
    response = client_for(manager).post(f"/api/projects/{project.pk}/images/delete/",
                                        {"ids": [new[0].pk, theirs.pk]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "ids", "detail": f"No image {theirs.pk} in this project."}]
    assert Image.objects.filter(project=project).count() == 5 and Image.objects.filter(pk=theirs.pk).exists()


def test_delete_images_needs_a_selection_and_a_manager(project, manager, annotator, reviewer, client_for):
    _world(project)
    url = f"/api/projects/{project.pk}/images/delete/"
    empty = client_for(manager).post(url, {}, format="json")
    assert empty.status_code == 400 and empty.json()["errors"][0]["field"] == "ids"
    for user in (annotator, reviewer):
        assert client_for(user).post(url, {"status": ["new"]}, format="json").status_code == 403
        assert client_for(user).get(url, {"status": "new"}).status_code == 403
    assert Image.objects.filter(project=project).count() == 5


def test_a_missing_or_wrong_token_is_401_with_the_scheme_to_use(project):
    anonymous = APIClient().get(f"/api/projects/{project.pk}/")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Token"
    assert anonymous.json()["detail"]
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    answer = wrong.get("/api/projects/")
    assert answer.status_code == 401 and answer["WWW-Authenticate"] == "Token"


def test_signed_in_sessions_still_get_403_for_what_their_role_may_not_do(project, annotator):
    client = APIClient()
    client.force_login(annotator)
    assert client.get(f"/api/projects/{project.pk}/").status_code == 200
    refused = client.delete(f"/api/projects/{project.pk}/")
    assert refused.status_code == 403 and "WWW-Authenticate" not in refused
    assert Project.objects.filter(pk=project.pk).exists()


def test_pages_refuse_lower_roles_with_a_403_page_and_hide_from_outsiders(project, annotator, reviewer, outsider, manager):
    from django.test import Client

    for name in ("export", "import", "settings"):
        for user, expected in ((annotator, 403), (reviewer, 403), (outsider, 404), (manager, 200)):
            client = Client()
            client.force_login(user)
            response = client.get(f"/projects/{project.pk}/{name}/")
            assert response.status_code == expected, (name, user, response.status_code)
            if expected == 403:
                assert b"Only the project&#x27;s managers may use this page" in response.content
            if expected == 404:
                assert b"Page not found" in response.content


def test_the_service_says_which_setting_is_out_of_range(project):
    from django.core.exceptions import ValidationError

    from labeling.services.projects import project_update

    with pytest.raises(ValidationError) as caught:
        project_update(project=project, retrain_every=0, proposal_threshold=2.0)
    assert set(caught.value.message_dict) == {"retrain_every", "proposal_threshold"}


def test_the_server_error_page_is_styled_with_a_way_back(client, settings):
    """Django renders 500.html without a request context: it must need none (no user, no database)."""
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html and 'href="/"' in html and "favicon.svg" in html
