from django.urls import path

from matching import views

app_name = "matching"

urlpatterns = [
    path("search", views.SearchView.as_view(), name="search"),
    path("feed", views.FeedView.as_view(), name="feed"),
    path("visitors", views.VisitorsView.as_view(), name="visitors"),
    path("shortlisted", views.ShortlistedView.as_view(), name="shortlisted"),
    path("shortlist/<str:profile_id>", views.ShortlistView.as_view(), name="shortlist"),
    path("ignore/<str:profile_id>", views.IgnoreView.as_view(), name="ignore"),
    path("interests", views.InterestsView.as_view(), name="interests"),
    *[
        path(
            f"interests/<str:interest_id>/{name}",
            views.InterestActionView.as_view(action_name=name),
            name=f"interest-{name}",
        )
        for name in ("accept", "decline", "withdraw")
    ],
]
