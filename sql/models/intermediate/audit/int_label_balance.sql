-- Class balance against the recipe's targets (manifest config), one row per taxonomy label:
--   intent       records per intent, share of records, target share;
--   entity_type  records mentioning the type at least once (mentions: every span), their share,
--                the target minimum share.
-- ratio = share / target (1.0 = on target; NULL without a target). share, target and ratio are
-- rounded for display (4, 4 and 3 places); raw_share and raw_target keep the exact values the
-- checks compare. Read by balance_*_vs_target.sql and check_*_below_target.sql.
create or replace view int_label_balance as

with total as (
    select count(*) as n_records
    from records
),

counts as (
    select
        'intent' as kind,
        rec.intent as label,
        count(*) as n_records,
        null::bigint as mentions
    from records as rec
    group by rec.intent
    union all
    select
        'entity_type' as kind,
        ent.type as label,
        count(distinct ent.id) as n_records,
        count(*) as mentions
    from entities as ent
    group by ent.type
),

shares as (
    select
        tgt.kind,
        tgt.label_order,
        tgt.label,
        tgt.target as raw_target,
        coalesce(cnt.n_records, 0) as n_records,
        coalesce(cnt.mentions, 0) as mentions,
        coalesce(cnt.n_records, 0) / tot.n_records as raw_share
    from targets as tgt
    cross join total as tot
    left join counts as cnt on tgt.kind = cnt.kind and tgt.label = cnt.label
),

final as (
    select
        kind,
        label_order,
        raw_share,
        raw_target,
        label,
        n_records,
        mentions,
        round(raw_share, 4) as share,
        round(raw_target, 4) as target,
        round(raw_share / nullif(raw_target, 0), 3) as ratio
    from shares
)

select * from final;
