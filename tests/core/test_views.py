import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from accounts import services
from accounts.choices import Role, VerificationStatus
from tests.factories import OrganizationFactory, UserFactory
from tests.factories.accounts import owner_of

pytestmark = pytest.mark.django_db


class TestHome:
    def test_guest_landing_page_counts_verified_organisations(self, client, django_assert_max_num_queries):
        OrganizationFactory.create_batch(3)
        OrganizationFactory(status=VerificationStatus.PENDING)

        with django_assert_max_num_queries(5):
            response = client.get(reverse("home"))

        content = response.content.decode()
        assert response.status_code == 200
        assert response.context["verified_count"] == 3
        assert "verified organisations already trade here" in content
        assert "Data asset registration" in content
        assert reverse("accounts:register") in content
        assert reverse("accounts:login") in content

    def test_member_dashboard_is_bounded_in_queries(self, client, django_assert_max_num_queries):
        user = UserFactory()
        for _n in range(6):
            org = OrganizationFactory()
            services.membership_add(organization=org, user=user, role=Role.EDITOR, by=None)
        client.force_login(user)

        with django_assert_max_num_queries(5):
            response = client.get(reverse("home"))

        assert response.status_code == 200
        assert len(response.context["dashboard"]) == 6

    def test_dashboard_tells_a_pending_owner_to_upload_the_licence(self, client):
        org = OrganizationFactory(status=VerificationStatus.PENDING)
        client.force_login(owner_of(org))

        content = client.get(reverse("home")).content.decode()

        assert org.name in content
        assert "Pending verification" in content
        assert "upload the business licence" in content
        assert "Owner" in content

    def test_dashboard_shows_the_rejection_reason(self, client):
        regulator = owner_of(OrganizationFactory(kind="regulator", can_sell=False, can_buy=False))
        org = OrganizationFactory(status=VerificationStatus.PENDING)
        services.organization_reject(organization=org, by=regulator, reason="Name does not match the licence.")
        client.force_login(owner_of(org))

        content = client.get(reverse("home")).content.decode()

        assert "Rejected" in content
        assert "Name does not match the licence." in content

    def test_user_without_organisation_gets_an_empty_state(self, client):
        client.force_login(UserFactory())
        content = client.get(reverse("home")).content.decode()
        assert "You are not a member of any organisation yet." in content

    def test_language_switch_to_simplified_chinese(self, client):
        response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}, follow=True)

        content = response.content.decode()
        assert response.status_code == 200
        assert '<html lang="zh-hans">' in content
        assert "数据资产登记" in content
        assert "注册" in content

    def test_language_switch_form_posts_with_csrf_and_next(self, client):
        content = client.get(reverse("home")).content.decode()
        assert f'action="{reverse("set_language")}"' in content
        assert 'name="csrfmiddlewaretoken"' in content
        assert 'name="next" value="/"' in content


def test_healthz(client, db):
    assert client.get(reverse("healthz")).json() == {"status": "ok"}


def test_500_page_renders_without_a_request_context():
    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html
    assert "csrfmiddlewaretoken" not in html
