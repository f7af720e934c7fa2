from marketplace.web import catalogue, contracts, dashboards, delivery, demands, feedback, listings, payments

app_name = "marketplace"
urlpatterns = [
    *catalogue.urlpatterns,
    *listings.urlpatterns,
    *contracts.urlpatterns,
    *payments.urlpatterns,
    *delivery.urlpatterns,
    *demands.urlpatterns,
    *feedback.urlpatterns,
    *dashboards.urlpatterns,
]
