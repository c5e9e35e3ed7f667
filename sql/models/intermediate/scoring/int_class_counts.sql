-- tp, fp and fn per (kind, observed label), for four kinds of class:
--   intent          one gold and at most one predicted intent per query; a missing or NULL prediction
--                   is a miss for the gold class and a false positive for none (int_query_class_counts);
--   entity          strict set matching of (type, normalized value, polarity) (int_query_class_counts);
--   exclusion       the strict matches of excluded entities only, per type (int_query_class_counts);
--   relaxed_entity  one-to-one token-overlap matching (int_relaxed_matches): tp = matched pairs,
--                   fp = predicted entities left unmatched, fn = gold entities left unmatched.
-- Labels outside the taxonomy appear here; int_class_scores keeps only the taxonomy's.
create or replace view int_class_counts as

with per_query as (
    -- intent, entity and exclusion counts are per-query counts summed (int_query_class_counts)
    select
        c.kind,
        c.label,
        sum(c.tp)::bigint as tp,
        sum(c.fp)::bigint as fp,
        sum(c.fn)::bigint as fn
    from int_query_class_counts as c
    group by c.kind, c.label
),

relaxed_sizes as (
    select
        e.entity_type,
        count(*) filter (where e.source = 'gold') as n_gold,
        count(*) filter (where e.source = 'pred') as n_pred
    from stg_entities as e
    group by e.entity_type
),

relaxed_matched as (
    select
        m.entity_type,
        sum(m.n_matched) as n_matched
    from int_relaxed_matches as m
    group by m.entity_type
),

relaxed as (
    select
        'relaxed_entity' as kind,
        s.entity_type as label,
        coalesce(m.n_matched, 0) as tp,
        s.n_pred - coalesce(m.n_matched, 0) as fp,
        s.n_gold - coalesce(m.n_matched, 0) as fn
    from relaxed_sizes as s
    left join relaxed_matched as m on s.entity_type = m.entity_type
),

final as (
    select * from per_query
    union all
    select * from relaxed
)

select * from final;
