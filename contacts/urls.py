from django.urls import path

from contacts import views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="contact-list"),
    path("all.vcf", views.all_vcards, name="contact-vcard-all"),
    path("<slug:slug>.vcf", views.contact_vcard, name="contact-vcard"),
]
