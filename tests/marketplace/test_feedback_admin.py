"""The regulators' console: the complaint queue and its decisions; ratings, demands and offers read-only."""

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from marketplace.choices import ComplaintStatus
from marketplace.models import Complaint
from marketplace.services import contracts, demands, feedback
from tests.admin import otp_login
from tests.factories import OrganizationFactory, member
from tests.factories.accounts import owner_of
from tests.factories.marketplace import contract_on, published_listing, registered_product

pytestmark = pytest.mark.django_db

REASON = "The merchant re-delivered the file with the missing days."


@pytest.fixture
def console(client):
    otp_login(client, member(OrganizationFactory(kind="regulator", can_buy=False), "admin"))
    return client


@pytest.fixture
def listing():
    return published_listing(registered_product())


def complaint_on(listing, description="Ten days of data are missing.", kind="quality") -> Complaint:
    contract = contracts.contract_activate(contract=contract_on(listing))
    return feedback.complaint_create(contract=contract, by=owner_of(contract.buyer), kind=kind,
                                     description=description)  # fmt: skip


def _url(name: str, *args) -> str:
    return reverse(f"admin:marketplace_{name}", args=args)


def test_members_cannot_reach_the_queue(client, listing):
    complaint = complaint_on(listing)
    otp_login(client, owner_of(complaint.contract.buyer))
    for url in (_url("complaint_changelist"), _url("complaint_change", complaint.pk),
                _url("complaint_decide", complaint.pk, "dismiss")):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_queue_opens_on_open_complaints_with_contract_and_parties(console, listing):
    waiting = complaint_on(listing, description="Ten days of data are missing.")
    decided = complaint_on(listing, description="The link had expired.")
    feedback.complaint_dismiss(complaint=decided, by=None, reason="Links are renewed on request.")
    page = console.get(_url("complaint_changelist")).content.decode()
    contract = waiting.contract
    assert "Ten days of data are missing." in page and "The link had expired." not in page
    assert contract.number in page and contract.buyer.name in page and contract.merchant.name in page
    everything = console.get(_url("complaint_changelist") + "?status=all").content.decode()
    assert "The link had expired." in everything


def test_queue_queries_do_not_grow(console, listing, django_assert_max_num_queries):
    for _ in range(6):
        complaint_on(listing)
    with django_assert_max_num_queries(12):
        response = console.get(_url("complaint_changelist"))
    assert response.content.decode().count('class="action-select"') == 6


def test_resolving_with_a_reason(console, listing):
    complaint = complaint_on(listing)
    page = console.get(_url("complaint_change", complaint.pk)).content.decode()
    assert _url("complaint_decide", complaint.pk, "resolve") in page
    assert _url("complaint_decide", complaint.pk, "dismiss") in page
    response = console.post(_url("complaint_decide", complaint.pk, "resolve"), {"reason": REASON})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.RESOLVED and complaint.resolution == REASON
    assert AuditEvent.objects.for_object(complaint).filter(action="complaint.resolved").exists()
    assert (
        _url("complaint_decide", complaint.pk, "resolve")
        not in console.get(_url("complaint_change", complaint.pk)).content.decode()
    )


def test_a_decision_needs_a_reason(console, listing):
    complaint = complaint_on(listing)
    response = console.post(_url("complaint_decide", complaint.pk, "dismiss"), {"reason": ""})
    assert response.status_code == 200
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.OPEN


def test_dismissing_several_at_once(console, listing):
    complaints = [complaint_on(listing), complaint_on(listing)]
    data = {"action": "decide_dismiss", "_selected_action": [c.pk for c in complaints], "reason": "Not a defect."}
    console.post(_url("complaint_changelist"), data)
    assert set(Complaint.objects.values_list("status", flat=True)) == {ComplaintStatus.DISMISSED}


def test_ratings_demands_and_offers_are_read_only(console, listing):
    contract = contracts.contract_activate(contract=contract_on(listing))
    review = feedback.review_create(contract=contract, by=owner_of(contract.buyer), rating=3, comment="Fine.")
    buyer = OrganizationFactory()
    demand = demands.demand_post(organization=buyer, by=owner_of(buyer), title="Port tons", sector="marine",
                                 need="Qingdao port throughput by day.", budget_max=Decimal(9000))  # fmt: skip
    offer = demands.offer_make(demand=demand, listing=listing, plan=listing.plans.get(), price=Decimal(10),
                               by=owner_of(listing.organization))  # fmt: skip
    for name, obj in (("review", review), ("demand", demand), ("offer", offer)):
        assert console.get(_url(f"{name}_changelist")).status_code == 200
        page = console.get(_url(f"{name}_change", obj.pk))
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
        assert console.get(_url(f"{name}_add")).status_code == 403
    page = console.get(_url("demand_change", demand.pk)).content.decode()
    assert listing.title in page and listing.organization.name in page  # the suggestions and the offer
