-- section: leakage
-- check: severity=warn threshold=0.0
-- Templates used by both train and heldout records: heldout is meant to test unseen phrasings.
-- Listed when the share of heldout records on such templates exceeds threshold (0.0: any).
select
    item_id as template_id,
    heldout_records,
    heldout_leaked_share
from int_heldout_reuse
where kind = 'template' and leaked_share > threshold()
order by heldout_records desc, template_id asc
