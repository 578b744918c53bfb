"""JSON bodies are bounded before they are parsed: too deep or too big is a 400/413 naming it, never a 500."""

import json

import pytest

from annotator.parsers import json_depth

DEEP = b"[" * 5000 + b"]" * 5000


def endpoints(project, image):
    return [
        ("patch", f"/api/projects/{project.pk}/"),
        ("post", f"/api/projects/{project.pk}/classes/"),
        ("post", f"/api/projects/{project.pk}/members/"),
        ("post", f"/api/images/{image.pk}/annotations/"),
        ("patch", f"/api/images/{image.pk}/"),
        ("post", f"/api/projects/{project.pk}/annotations/bulk/"),
    ]


@pytest.mark.django_db
def test_a_body_nested_5000_deep_is_refused_with_400_on_every_json_endpoint(project, image, manager, client_for):
    api = client_for(manager)
    for method, path in endpoints(project, image):
        response = getattr(api, method)(path, DEEP, content_type="application/json")
        assert response.status_code == 400, (path, response.status_code, response.content[:200])
        body = response.json()
        assert "nested 5000 levels deep" in body["detail"] and "limit is 64" in body["detail"], path
        assert body["errors"] == [{"field": "body", "detail": body["detail"]}]


@pytest.mark.django_db
def test_the_depth_is_counted_outside_strings_and_up_to_the_limit_is_parsed(project, manager, client_for, settings):
    api = client_for(manager)
    # Brackets inside a string are text: a class name full of them is just a (too long) name.
    response = api.post(f"/api/projects/{project.pk}/classes/", {"name": "[" * 60 + "{" * 40}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "[" * 60 + "{" * 40
    settings.JSON_MAX_DEPTH = 3
    nested = {"name": "x", "extra": [[1]]}  # depth 3: parsed, the unknown field ignored
    assert api.post(f"/api/projects/{project.pk}/classes/", nested, format="json").status_code == 201
    too_deep = {"name": "y", "extra": [[[1]]]}
    response = api.post(f"/api/projects/{project.pk}/classes/", too_deep, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The JSON body is nested 4 levels deep (arrays and objects); the limit is 3."
    )
    assert project.label_classes.filter(name="y").count() == 0


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_refused_unread(project, manager, client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"name": "z" * 2000})
    response = client_for(manager).post(f"/api/projects/{project.pk}/classes/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["detail"] == "The JSON body is larger than the limit of 1000 bytes."
    assert not project.label_classes.filter(name__startswith="z").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"name": "a"',
        b"\xff\xfe\x00garbage",
        b'{"name": NaN}',
        b'{"name": 1' + b"9" * 5000 + b"}",  # more digits than Python converts
        b"]]]]]]]]",
        b'"\\',
        b"[" * 65 + b'"unterminated',
        b"\x00" * 100,
    ],
)
def test_garbage_bodies_are_400_with_a_detail(project, manager, client_for, body):
    response = client_for(manager).post(f"/api/projects/{project.pk}/classes/", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "body"


def test_depth_ignores_brackets_in_strings_and_escaped_quotes():
    assert json_depth(b"") == 0
    assert json_depth(b"[]") == 1
    assert json_depth(b'{"a": "[[[[", "b": [[1]]}') == 3
    assert json_depth(b'["\\"[[[", [2]]') == 2
    assert json_depth(b'["\\\\", [[3]]]') == 3
    assert json_depth(DEEP) == 5000


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"[null, null]", b'"reviewer"', b"null", b"true", b"12"])
def test_a_json_body_that_is_not_an_object_is_a_400_where_an_object_is_expected(project, manager, reviewer, client_for, body):
    """Found by schema fuzzing: PATCH of a member with a list body spread it into a dict (a 500)."""
    membership = project.memberships.get(user=reviewer)
    response = client_for(manager).patch(
        f"/api/projects/{project.pk}/members/{membership.pk}/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [{"field": "body", "detail": 'Send a JSON object, for example {"role": "reviewer"}.'}]
