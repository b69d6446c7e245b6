"""The tables of the managers (memory, files, context), applied at boot after the core's."""

from __future__ import annotations

from llmagentos.context.summary import SCHEMA as CONTEXT_SCHEMA
from llmagentos.memory.store import SCHEMA as MEMORY_SCHEMA
from llmagentos.storage.files import SCHEMA as FILES_SCHEMA

MANAGER_SCHEMAS: tuple[str, ...] = (MEMORY_SCHEMA, FILES_SCHEMA, CONTEXT_SCHEMA)
"""Idempotent DDL of the managers' tables, in the order `Database.open` applies it."""
