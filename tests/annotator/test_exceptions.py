"""The API exception handler: input that only the request's own values can cause is a 400, not a 500."""

import pytest
from django.db import DataError

from annotator.exceptions import api_exception_handler
from tests.factories import AnnotationFactory


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (OverflowError("Python int too large to convert to SQLite INTEGER"), "number in the request is too large"),
        (DataError("value too long for type character varying(100)\n"), "value too long for type character varying"),
    ],
)
def test_errors_caused_by_request_values_are_400_in_the_api_shape(exc, says):
    response = api_exception_handler(exc, {})

    assert response.status_code == 400
    assert says in response.data["detail"]
    assert response.data["errors"] == [{"field": "", "detail": response.data["detail"]}]


def test_other_errors_stay_server_errors():
    assert api_exception_handler(ZeroDivisionError(), {}) is None


def test_an_id_past_64_bits_in_a_filter_is_a_400_not_a_500(project, classes, image, manager, client_for):
    annotation = AnnotationFactory(image=image, label_class=classes[0])

    response = client_for(manager).get(f"/api/annotations/{annotation.pk}/similar/", {"label_class": 2**64})

    assert response.status_code == 400, response.content
    assert response.json()["detail"]
