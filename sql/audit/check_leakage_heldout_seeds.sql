-- section: leakage
-- check: severity=warn threshold=0.0
-- Heldout records that reuse what train has seen: a seed_title that also seeds train records, or a
-- value of a seed type (heldout_seed_pools in eval/audit/config.yml: titles and people) that also
-- occurs in train, compared after normalize_value. Listed when the share of heldout records
-- affected exceeds threshold (0.0: any), one row per shared seed title or value.
with source as (select * from heldout),

train_values as (
    select distinct
        ent.type,
        normalize_value(ent.value) as value_key
    from entities as ent
    inner join seed_types as sdt on ent.type = sdt.type
    where ent.split = 'train'
),

train_seeds as (
    select distinct normalize_value(trn.seed_title) as value_key
    from train as trn
    where trn.seed_title is not null
),

value_hits as (
    select
        'value' as kind,
        ent.type,
        ent.value,
        ent.id
    from entities as ent
    inner join train_values as trv
        on ent.type = trv.type and normalize_value(ent.value) = trv.value_key
    where ent.split = 'heldout'
),

seed_hits as (
    select
        'seed_title' as kind,
        cast(null as varchar) as type,
        src.seed_title as value,
        src.id
    from source as src
    inner join train_seeds as trs on normalize_value(src.seed_title) = trs.value_key
),

hits as (
    select * from value_hits
    union all
    select * from seed_hits
),

share as (
    select count(distinct hit.id) / greatest((select count(*) from source), 1) as leaked_share
    from hits as hit
),

final as (
    select
        hit.kind,
        hit.type,
        min(hit.value) as value,
        count(distinct hit.id) as heldout_records,
        round(max(shr.leaked_share), 4) as heldout_leaked_share
    from hits as hit
    cross join share as shr
    where shr.leaked_share > threshold()
    group by hit.kind, hit.type, normalize_value(hit.value)
    order by heldout_records desc, hit.kind asc, value asc
)

select * from final
