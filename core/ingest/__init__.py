"""Importing tickets from files: CSV exports with a field mapping, and JSONL in the common shape.

``readers`` turn a file into ``(line, Ticket)`` pairs and locate every problem (file, line, field);
``importer`` writes them in one transaction, so a bad last line leaves the database as it was.
"""

from core.ingest.importer import ImportResult, import_file
from core.ingest.readers import FieldMap

__all__ = ["FieldMap", "ImportResult", "import_file"]
