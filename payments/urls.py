from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("vip/", views.vip, name="vip"),
    path("vip/subscribe/<int:plan_id>/", views.subscribe, name="subscribe"),
    path("vip/orders/<str:reference>/", views.order, name="order"),
    path("payments/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
