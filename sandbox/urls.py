from sandbox.web import datasets, exports, workspaces

app_name = "sandbox"
urlpatterns = [
    *workspaces.urlpatterns,
    *datasets.urlpatterns,
    *exports.urlpatterns,
]
