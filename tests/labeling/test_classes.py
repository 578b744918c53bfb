"""Label classes through the API: keys 1-9 only, clashes in sentences, merge and paste."""

import pytest

from labeling.models import Annotation, AnnotationEvent, LabelClass

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory


def _classes_url(project, suffix=""):
    return f"/api/projects/{project.pk}/classes/{suffix}"


@pytest.mark.parametrize("key", ["0", "a", "A"])
def test_keys_that_the_workspace_uses_are_refused_with_a_sentence(project, manager, client_for, key):
    response = client_for(manager).post(_classes_url(project), {"name": "cat", "hotkey": key}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errors"] == [{"field": "hotkey", "detail": body["errors"][0]["detail"]}]
    assert "use 1–9" in body["errors"][0]["detail"] and repr(key) in body["errors"][0]["detail"]
    assert not LabelClass.objects.filter(project=project).exists()


def test_a_duplicate_key_names_the_class_that_has_it(project, classes, manager, client_for):
    response = client_for(manager).post(_classes_url(project), {"name": "fish", "hotkey": "2"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "hotkey", "detail": "Key 2 is already used by class 'dog'."}]
    assert "constraint" not in response.content.decode().lower()


def test_re_keying_onto_a_used_key_and_renaming_onto_a_used_name_say_so(project, classes, manager, client_for):
    cat, dog, _ = classes
    client = client_for(manager)
    response = client.patch(_classes_url(project, f"{cat.pk}/"), {"hotkey": "2"}, format="json")
    assert response.json()["errors"] == [{"field": "hotkey", "detail": "Key 2 is already used by class 'dog'."}]
    response = client.patch(_classes_url(project, f"{cat.pk}/"), {"name": "dog"}, format="json")
    assert response.json()["errors"] == [{"field": "name", "detail": "A class called 'dog' already exists."}]
    ok = client.patch(_classes_url(project, f"{cat.pk}/"), {"name": "kitten", "hotkey": "7", "color": "#00ff00"},
                      format="json")
    assert ok.status_code == 200, ok.content
    cat.refresh_from_db()
    assert (cat.name, cat.hotkey, cat.color) == ("kitten", "7", "#00ff00")


def test_automatic_keys_are_1_to_9_then_none(project, manager, client_for):
    client = client_for(manager)
    keys = [client.post(_classes_url(project), {"name": f"c{i}"}, format="json").json()["hotkey"] for i in range(10)]
    assert keys == [str(d) for d in range(1, 10)] + [""]


def test_deleting_a_class_in_use_says_how_many_and_what_to_do(project, classes, image, manager, client_for):
    AnnotationFactory(image=image, label_class=classes[0])
    response = client_for(manager).delete(_classes_url(project, f"{classes[0].pk}/"))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "label_class"
    assert error["detail"].startswith("Class 'cat' still labels 1 object; merge it into another class")


def test_paste_adds_every_line_or_none_naming_each_bad_line(project, classes, manager, client_for):
    client = client_for(manager)
    bad = client.post(_classes_url(project, "paste/"), {"names": "fish\n\ncat\nfish\nowl"}, format="json")
    assert bad.status_code == 400
    details = [e["detail"] for e in bad.json()["errors"]]
    assert details == ["Line 3: a class called 'cat' already exists.", "Line 4: 'fish' is already on line 1."]
    assert project.label_classes.count() == 3
    good = client.post(_classes_url(project, "paste/"), {"names": " fish \nowl\n\nbee\n"}, format="json")
    assert good.status_code == 201, good.content
    assert [c["name"] for c in good.json()] == ["fish", "owl", "bee"]
    assert [c["hotkey"] for c in good.json()] == ["4", "5", "6"]


def test_paste_and_merge_are_for_managers(project, classes, annotator, reviewer, client_for):
    for user in (annotator, reviewer):
        client = client_for(user)
        assert client.post(_classes_url(project, "paste/"), {"names": "x"}, format="json").status_code == 403
        merge = {"source": classes[0].pk, "target": classes[1].pk}
        assert client.post(_classes_url(project, "merge/"), merge, format="json").status_code == 403
    assert project.label_classes.count() == 3


def test_merge_moves_labels_drops_duplicate_tags_and_writes_the_trail(project, classes, manager, client_for):
    cat, dog, _ = classes
    one, two = ImageFactory(project=project), ImageFactory(project=project)
    box = AnnotationFactory(image=one, label_class=cat)
    tag_kept = AnnotationFactory(image=one, label_class=cat, kind="tag", geometry={})
    tag_dup = AnnotationFactory(image=two, label_class=cat, kind="tag", geometry={})
    dog_tag = AnnotationFactory(image=two, label_class=dog, kind="tag", geometry={})

    response = client_for(manager).post(_classes_url(project, "merge/"), {"source": cat.pk, "target": dog.pk},
                                        format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"moved": 2, "dropped": 1, "source": "cat", "target": "dog"}
    assert not LabelClass.objects.filter(pk=cat.pk).exists()
    assert set(Annotation.objects.filter(label_class=dog).values_list("pk", flat=True)) == {box.pk, tag_kept.pk, dog_tag.pk}
    assert not Annotation.objects.filter(pk=tag_dup.pk).exists()
    box.refresh_from_db()
    assert box.version == 2
    events = {e.annotation_id: e for e in AnnotationEvent.objects.filter(annotation_id__in=[box.pk, tag_dup.pk])}
    assert events[box.pk].action == "update" and events[box.pk].before["label_class"] == cat.pk
    assert events[box.pk].after["label_class"] == dog.pk and events[box.pk].actor == manager
    assert events[tag_dup.pk].action == "delete"


def test_merge_refuses_another_projects_class_and_itself(project, classes, manager, client_for):
    theirs = LabelClassFactory()
    client = client_for(manager)
    other = client.post(_classes_url(project, "merge/"), {"source": classes[0].pk, "target": theirs.pk}, format="json")
    assert other.status_code == 400 and other.json()["errors"][0]["field"] == "target"
    same = client.post(_classes_url(project, "merge/"), {"source": classes[0].pk, "target": classes[0].pk}, format="json")
    assert same.status_code == 400 and same.json()["errors"][0]["detail"] == "Choose another class to merge into."
    assert project.label_classes.count() == 3


def test_the_page_without_script_reports_a_refused_delete_as_a_message_not_on_the_add_form(project, classes, image, manager):
    from django.test import Client

    AnnotationFactory(image=image, label_class=classes[0])
    client = Client()
    client.force_login(manager)
    response = client.post(f"/projects/{project.pk}/classes/", {"delete": classes[0].pk}, follow=True)
    html = response.content.decode()
    assert "Class &#x27;cat&#x27; still labels 1 object" in html
    assert "This field is required" not in html
    assert LabelClass.objects.filter(pk=classes[0].pk).exists()
