"""Dataset audit: every eval/audit/sql/*.sql over a dataset folder -> audit.md, audit.html, audit.json.

`python -m eval.audit --data data/x` (make audit). See eval/audit/db.py for the relations the SQL reads
and eval/audit/sqlfiles.py for the header comments that make a file a check.
"""

from eval.audit.run import Audit, run_audit

__all__ = ["Audit", "run_audit"]
