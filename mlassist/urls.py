from django.urls import path

from . import apis, apis_effort, apis_live, apis_maia, apis_predictions, apis_versions, views

api_urlpatterns = [
    path("projects/<int:project_id>/train/", apis.Train.as_view(), name="api-train"),
    path("projects/<int:project_id>/training-runs/", apis.TrainingRuns.as_view(), name="api-training-runs"),
    path("projects/<int:project_id>/model-versions/", apis.ModelVersions.as_view(), name="api-model-versions"),
    path("projects/<int:project_id>/model-versions/<int:pk>/promote/", apis.PromoteVersion.as_view(),
         name="api-model-version-promote"),
    path("projects/<int:project_id>/model-versions/<int:pk>/threshold/", apis_versions.VersionThreshold.as_view(),
         name="api-model-version-threshold"),
    path("projects/<int:project_id>/propose/", apis.Propose.as_view(), name="api-propose"),
    path("projects/<int:project_id>/model/tflite/", apis.TFLiteModel.as_view(), name="api-model-tflite"),
    path("projects/<int:project_id>/suspicious-labels/", apis.SuspiciousLabels.as_view(), name="api-suspicious-labels"),
    path("projects/<int:project_id>/live/", apis_live.Live.as_view(), name="api-live"),
    path("projects/<int:project_id>/live/frames/", apis_live.LiveFrames.as_view(), name="api-live-frames"),
    path("projects/<int:project_id>/training-readiness/", apis.TrainingReadiness.as_view(),
         name="api-training-readiness"),
    path("projects/<int:project_id>/model-events/", apis.ModelEvents.as_view(), name="api-model-events"),
    path("projects/<int:project_id>/predictions/", apis_predictions.Predictions.as_view(), name="api-predictions"),
    path("projects/<int:project_id>/maia/", apis_maia.Maia.as_view(), name="api-maia"),
    path("projects/<int:project_id>/maia/detector/", apis_maia.MaiaDetector.as_view(), name="api-maia-detector"),
    path("projects/<int:project_id>/time-saved/", apis_effort.TimeSaved.as_view(), name="api-time-saved"),
]

page_urlpatterns = [
    path("projects/<int:project_id>/model/", views.model_page, name="project-model"),
    path("projects/<int:project_id>/maia/", views.maia_page, name="project-maia"),
]
