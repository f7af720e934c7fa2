"""Write operations of the sandbox, one module per aggregate (datasets, workspaces, queries, exports).

Import the module, not its functions: `from sandbox.services import queries; queries.query_submit(...)`.
"""
