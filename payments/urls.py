from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("mock/<str:token>/", views.mock_checkout, name="mock-checkout"),
    path("finish/", views.payment_finish, name="finish"),
]
