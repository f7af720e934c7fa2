"""Bought data and its delivery: an active contract, its entitlement, a download through a signed link."""

from marketplace.choices import ContractStatus
from marketplace.models import Contract, Entitlement
from marketplace.services import contracts, downloads
from tests.factories.accounts import owner_of
from tests.factories.marketplace import contract_on

IP = "198.51.100.7"


def buy(listing, plan=None, buyer=None) -> Contract:
    """An active contract on the listing (paid plans are activated without a payment)."""
    contract = contract_on(listing, plan=plan, buyer=buyer)
    if contract.status != ContractStatus.ACTIVE:
        contract = contracts.contract_activate(contract=contract)
    return Contract.objects.get(pk=contract.pk)


def access_of(contract: Contract) -> Entitlement:
    return Entitlement.objects.select_related("contract__buyer", "contract__listing__product").get(contract=contract)


def buyer_of(entitlement: Entitlement):
    return owner_of(entitlement.contract.buyer)


def fetch(entitlement: Entitlement, user=None, ip: str | None = IP) -> bytes:
    """Ask for a link and download through it, as the buyer's owner unless told otherwise."""
    user = user or buyer_of(entitlement)
    token = downloads.download_link(entitlement=entitlement, by=user)
    return b"".join(downloads.download_open(token=token, user=user, ip=ip).chunks)
