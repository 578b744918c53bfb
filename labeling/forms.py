from django import forms

from .models import Membership, Project


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    kinds = forms.MultipleChoiceField(
        choices=Project.Kind.choices, widget=forms.CheckboxSelectMultiple, initial=["box"]
    )
    multilabel = forms.BooleanField(required=False, label="Several tags per image")


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.ANNOTATOR)


class LabelClassForm(forms.Form):
    name = forms.CharField(max_length=100)
    color = forms.CharField(max_length=7, required=False, widget=forms.TextInput(attrs={"placeholder": "#rrggbb (optional)"}))
    hotkey = forms.CharField(max_length=1, required=False)
