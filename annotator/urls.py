from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from labeling import apis_auth, views_account
from labeling.urls import api_urlpatterns, page_urlpatterns
from mlassist.urls import api_urlpatterns as mlassist_api_urlpatterns
from mlassist.urls import page_urlpatterns as mlassist_page_urlpatterns

from .health import health
from .throttling import ThrottledLoginView

# Swagger UI's page keeps a small <style> block of its own and its bundle sets styles as it renders:
# that page alone may use inline styles. Its script comes from a URL (the split view), so script-src
# stays 'self' everywhere.
api_docs = csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))

urlpatterns = [
    path("health", health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", views_account.account, name="account"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("api/auth/token/", apis_auth.OwnToken.as_view(), name="api-own-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/", include(api_urlpatterns)),
    path("api/", include(mlassist_api_urlpatterns)),
    path("", include(page_urlpatterns)),
    path("", include(mlassist_page_urlpatterns)),
]

# A database outage anywhere in a request (not only in views) is a 503, and API errors stay JSON.
handler500 = "annotator.middleware.server_error"
