"""Dataset audit: every sql/audit/*.sql over a dataset folder -> audit.md, audit.html, audit.json.

`python -m audit --data data/x` (make audit). See audit/db.py for the relations the SQL reads
and audit/sqlfiles.py for the header comments that make a file a check.
"""

from audit.run import Audit, run_audit

__all__ = ["Audit", "run_audit"]
