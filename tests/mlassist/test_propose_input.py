"""POST /api/projects/{id}/propose/: image ids that cannot exist are refused naming the item."""

import pytest


@pytest.mark.parametrize("bad_id", [2**64, 2**63, 0, -5])
def test_an_image_id_out_of_range_is_a_400_naming_it(project, manager, client_for, bad_id):
    response = client_for(manager).post(f"/api/projects/{project.pk}/propose/", {"images": [bad_id]}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"].startswith("images")
