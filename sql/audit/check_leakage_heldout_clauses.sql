-- section: leakage
-- check: severity=warn threshold=0.0
-- Exclusion and look-alike clauses used by both train and heldout records: heldout is meant to test
-- phrasings of exclusion never seen in training. Listed when the share of heldout records on such
-- clauses exceeds threshold (0.0: any).
with source as (select * from heldout),

train_clauses as (
    select distinct unnest(trn.exclusion_clauses || trn.lookalike_clauses) as clause_id
    from train as trn
),

heldout_uses as (
    select
        src.id,
        unnest(list_distinct(coalesce(src.exclusion_clauses, []) || coalesce(src.lookalike_clauses, [])))
            as clause_id
    from source as src
),

hits as (
    select
        hus.clause_id,
        hus.id
    from heldout_uses as hus
    inner join train_clauses as trc on hus.clause_id = trc.clause_id
),

share as (
    select count(distinct hit.id) / greatest((select count(*) from source), 1) as leaked_share
    from hits as hit
),

final as (
    select
        hit.clause_id,
        count(*) as heldout_records,
        round(max(shr.leaked_share), 4) as heldout_leaked_share
    from hits as hit
    cross join share as shr
    where shr.leaked_share > threshold()
    group by hit.clause_id
    order by heldout_records desc, hit.clause_id asc
)

select * from final
