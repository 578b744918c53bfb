from django.contrib import admin

from .models import Annotation, AnnotationEvent, Image, Job, LabelClass, Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class LabelClassInline(admin.TabularInline):
    model = LabelClass
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "uses_tags", "uses_boxes", "uses_polygons", "uses_masks", "created_at"]
    inlines = [MembershipInline, LabelClassInline]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["file_name", "project", "width", "height", "status", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["project", "created_by", "claimed_by"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "image", "label_class", "kind", "origin", "state", "score", "version"]
    list_filter = ["kind", "origin", "state"]
    raw_id_fields = ["image", "label_class", "model_version", "created_by", "updated_by"]


@admin.register(AnnotationEvent)
class AnnotationEventAdmin(admin.ModelAdmin):
    list_display = ["id", "annotation_id", "action", "actor", "at"]

    def has_change_permission(self, request, obj=None):
        return False  # the audit trail is append-only

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "kind", "state", "progress", "created_at"]
