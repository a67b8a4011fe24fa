"""Copying each room's SQLite file to the clinic's central PostgreSQL server.

Core-level: no Qt, no widgets. `schema` creates the server's tables and roles
(`holdspace central init`), `replicator` pushes a room's rows in the background, `status`
says in plain words how far behind it is. The SQLite file stays the source of truth: the
server is a copy that may lag, never a place the console waits on. See docs/replication.md.
"""
