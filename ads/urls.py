"""The sponsored block's endpoints, at the site's root: short click links and beacons."""
from django.urls import path

from ads import views

app_name = "ads"
urlpatterns = [
    path("c/<str:token>", views.click, name="click"),
    path("v/<str:token>", views.beacon, name="beacon"),
]
