"""Write operations of partner integrations: `endpoints` (what an organisation registers) and `deliveries` (sending
events out, retrying, giving up, redelivering).

Import the module, not its functions: `from integrations.services import endpoints; endpoints.endpoint_create(...)`.
"""
