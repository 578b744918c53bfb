from django.urls import path

from . import (
    apis, apis_annotations, apis_camera, apis_io, apis_review, apis_smart, apis_urls, views, views_camera, views_review,
    views_workspace,
)

api_urlpatterns = [
    path("projects/", apis.ProjectList.as_view(), name="api-project-list"),
    path("projects/<int:project_id>/", apis.ProjectDetail.as_view(), name="api-project-detail"),
    path("projects/<int:project_id>/members/", apis.MemberList.as_view(), name="api-member-list"),
    path("projects/<int:project_id>/members/<int:pk>/", apis.MemberDetail.as_view(), name="api-member-detail"),
    path("projects/<int:project_id>/classes/", apis.LabelClassList.as_view(), name="api-class-list"),
    path("projects/<int:project_id>/classes/<int:pk>/", apis.LabelClassDetail.as_view(), name="api-class-detail"),
    path("projects/<int:project_id>/images/", apis.ImageList.as_view(), name="api-image-list"),
    path("projects/<int:project_id>/next-image/", apis.NextImage.as_view(), name="api-next-image"),
    path("projects/<int:project_id>/stats/", apis.ProjectStats.as_view(), name="api-project-stats"),
    path("projects/<int:project_id>/annotations/", apis_annotations.ProjectAnnotations.as_view(), name="api-project-annotations"),
    path("projects/<int:project_id>/export/coco/", apis_io.CocoExport.as_view(), name="api-export-coco"),
    path("projects/<int:project_id>/import/coco/", apis_io.CocoImport.as_view(), name="api-import-coco"),
    path("images/<int:pk>/", apis.ImageDetail.as_view(), name="api-image-detail"),
    path("images/<int:pk>/file/", apis.ImageFile.as_view(), name="api-image-file"),
    path("images/<int:pk>/thumbnail/", apis.ImageThumbnail.as_view(), name="api-image-thumbnail"),
    path("images/<int:pk>/annotations/", apis_annotations.ImageAnnotations.as_view(), name="api-image-annotations"),
    path("images/<int:pk>/annotations/batch/", apis_annotations.ImageAnnotationsBatch.as_view(),
         name="api-image-annotations-batch"),
    path("annotations/<int:pk>/", apis_annotations.AnnotationDetail.as_view(), name="api-annotation-detail"),
    path("annotations/<int:pk>/events/", apis_annotations.AnnotationEvents.as_view(), name="api-annotation-events"),
    path("projects/<int:project_id>/jobs/", apis.JobList.as_view(), name="api-job-list"),
    path("jobs/<uuid:pk>/", apis.JobDetail.as_view(), name="api-job-detail"),
    path("jobs/<uuid:pk>/result/", apis.JobResult.as_view(), name="api-job-result"),
    path("jobs/<uuid:pk>/retry/", apis.JobRetry.as_view(), name="api-job-retry"),
    path("projects/<int:project_id>/annotations/bulk/", apis_review.BulkAnnotations.as_view(),
         name="api-annotations-bulk"),
    path("projects/<int:project_id>/review/annotations/", apis_review.ReviewAnnotations.as_view(),
         name="api-review-annotations"),
    path("annotations/<int:pk>/similar/", apis_review.AnnotationSimilar.as_view(), name="api-annotation-similar"),
    path("images/<int:pk>/review/", apis_review.ImageReview.as_view(), name="api-image-review"),
    path("images/<int:pk>/events/", apis_review.ImageEvents.as_view(), name="api-image-events"),
    path("projects/<int:project_id>/import/urls/", apis_urls.UrlImport.as_view(), name="api-import-urls"),
    path("jobs/<uuid:pk>/url-lines/", apis_urls.UrlImportLines.as_view(), name="api-job-url-lines"),
    path("images/<int:pk>/smart/box-mask/", apis_smart.BoxMask.as_view(), name="api-smart-box-mask"),
    path("images/<int:pk>/smart/superpixels/", apis_smart.Superpixels.as_view(), name="api-smart-superpixels"),
    path("projects/<int:project_id>/capture/", apis_camera.Capture.as_view(), name="api-capture"),
]

page_urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/<int:project_id>/", views.project_detail, name="project-detail"),
    path("projects/<int:project_id>/members/", views.project_members, name="project-members"),
    path("projects/<int:project_id>/classes/", views.project_classes, name="project-classes"),
    path("projects/<int:project_id>/annotate/", views_workspace.workspace_next, name="workspace-next"),
    path("projects/<int:project_id>/images/<int:image_id>/annotate/", views_workspace.workspace, name="workspace"),
    path("projects/<int:project_id>/review/", views_review.review_page, name="project-review"),
    path("projects/<int:project_id>/capture/", views_camera.capture_page, name="project-capture"),
    path("projects/<int:project_id>/live/", views_camera.live_page, name="project-live"),
]

# Team pages (labeling/views_team.py): the site's accounts for site admins, statistics per person.
from . import views_team  # noqa: E402

page_urlpatterns += [
    path("team/", views_team.team_page, name="team"),
    path("projects/<int:project_id>/statistics/", views_team.stats_page, name="project-statistics"),
]

# Data and settings screens (labeling/views_data.py) and the API calls only they make (apis_data.py).
from . import apis_data, views_data  # noqa: E402

api_urlpatterns += [
    path("projects/<int:project_id>/images/delete/", apis_data.ImagesDelete.as_view(), name="api-images-delete"),
    path("projects/<int:project_id>/classes/merge/", apis_data.ClassMerge.as_view(), name="api-class-merge"),
    path("projects/<int:project_id>/classes/paste/", apis_data.ClassPaste.as_view(), name="api-class-paste"),
]
page_urlpatterns += [
    path("projects/<int:project_id>/export/", views_data.export_page, name="project-export"),
    path("projects/<int:project_id>/import/", views_data.import_page, name="project-import"),
    path("projects/<int:project_id>/settings/", views_data.settings_page, name="project-settings"),
]
