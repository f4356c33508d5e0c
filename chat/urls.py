from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("conversations", views.ConversationsView.as_view(), name="conversations"),
    path("messages/send", views.SendView.as_view(), name="send"),
    path("messages/<str:conversation_id>", views.MessagesView.as_view(), name="messages"),
    path("messages/<str:conversation_id>/read", views.ReadView.as_view(), name="read"),
    path(
        "messages/<str:conversation_id>/<int:message_id>",
        views.MessageView.as_view(),
        name="message",
    ),
    path("settings", views.SettingsView.as_view(), name="settings"),
    path("calls", views.CallsView.as_view(), name="calls"),
    path("calls/turn-credentials", views.TurnView.as_view(), name="turn"),
]
