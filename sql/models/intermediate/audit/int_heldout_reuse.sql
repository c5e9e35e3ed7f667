-- Heldout records reusing what train used: a template (kind 'template') or an exclusion or
-- look-alike clause (kind 'clause'). One row per kind and reused item_id: heldout_records using it
-- and, per kind, leaked_share: the share of heldout records reusing any item of that kind (unrounded;
-- heldout_leaked_share rounds it to 4 places). Read by check_leakage_heldout_templates.sql and
-- check_leakage_heldout_clauses.sql.
create or replace view int_heldout_reuse as

with source as (select * from heldout),

train_items as (
    select distinct
        'template' as kind,
        trn.template_id as item_id
    from train as trn
    where trn.template_id is not null
    union all
    select distinct
        'clause' as kind,
        unnest(trn.exclusion_clauses || trn.lookalike_clauses) as item_id
    from train as trn
),

heldout_items as (
    select
        'template' as kind,
        src.template_id as item_id,
        src.id
    from source as src
    union all
    select
        'clause' as kind,
        unnest(list_distinct(coalesce(src.exclusion_clauses, []) || coalesce(src.lookalike_clauses, [])))
            as item_id,
        src.id
    from source as src
),

hits as (
    select
        hit.kind,
        hit.item_id,
        hit.id
    from heldout_items as hit
    inner join train_items as tri on hit.kind = tri.kind and hit.item_id = tri.item_id
),

shares as (
    select
        hit.kind,
        count(distinct hit.id) / greatest((select count(*) from source), 1) as leaked_share
    from hits as hit
    group by hit.kind
),

final as (
    select
        hit.kind,
        hit.item_id,
        count(*) as heldout_records,
        max(shr.leaked_share) as leaked_share,
        round(max(shr.leaked_share), 4) as heldout_leaked_share
    from hits as hit
    inner join shares as shr on hit.kind = shr.kind
    group by hit.kind, hit.item_id
)

select * from final;
