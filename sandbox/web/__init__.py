"""Web pages of the sandbox, one module per area; sandbox/urls.py mounts them at /sandbox/."""
