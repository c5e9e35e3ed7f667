-- section: leakage
-- check: severity=warn threshold=0.0
-- Templates used by both train and heldout records: heldout is meant to test unseen phrasings.
-- Listed when the share of heldout records on such templates exceeds threshold (0.0: any).
with source as (select * from heldout),

train_templates as (
    select distinct trn.template_id
    from train as trn
    where trn.template_id is not null
),

hits as (
    select
        src.template_id,
        src.id
    from source as src
    inner join train_templates as trt on src.template_id = trt.template_id
),

share as (
    select count(*) / greatest((select count(*) from source), 1) as leaked_share
    from hits
),

final as (
    select
        hit.template_id,
        count(*) as heldout_records,
        round(max(shr.leaked_share), 4) as heldout_leaked_share
    from hits as hit
    cross join share as shr
    where shr.leaked_share > threshold()
    group by hit.template_id
    order by heldout_records desc, hit.template_id asc
)

select * from final
