"""Write operations of the marketplace, one module per aggregate (listings, contracts, payments, delivery, ...).

Import the module, not its functions: `from marketplace.services import contracts; contracts.contract_request(...)`.
"""
