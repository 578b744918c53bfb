from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from labeling.urls import api_urlpatterns, page_urlpatterns
from mlassist.urls import api_urlpatterns as mlassist_api_urlpatterns
from mlassist.urls import page_urlpatterns as mlassist_page_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(api_urlpatterns)),
    path("api/", include(mlassist_api_urlpatterns)),
    path("", include(page_urlpatterns)),
    path("", include(mlassist_page_urlpatterns)),
]
