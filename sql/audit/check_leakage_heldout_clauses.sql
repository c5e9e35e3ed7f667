-- section: leakage
-- check: severity=warn threshold=0.0
-- Exclusion and look-alike clauses used by both train and heldout records: heldout is meant to test
-- phrasings of exclusion never seen in training. Listed when the share of heldout records on such
-- clauses exceeds threshold (0.0: any).
select
    item_id as clause_id,
    heldout_records,
    heldout_leaked_share
from int_heldout_reuse
where kind = 'clause' and leaked_share > threshold()
order by heldout_records desc, clause_id asc
