"""The local SQLite store: one file holds every patient, session, reading and event.

Import the module you need (`console.store.db`, `console.store.engine`, …): this package file
loads nothing, so that `holdspace --help` and the umask set-up do not open the database code.
"""
