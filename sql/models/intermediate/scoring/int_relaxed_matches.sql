-- Relaxed entity matching, for long free-text spans (plot, setting, theme) where a near miss such as
-- 'a heist gone wrong' vs 'heist gone wrong badly' is still useful:
--   * tokens are the distinct space-separated words of the normalized value (stg_entities);
--   * a gold and a predicted entity of the SAME type and polarity (is_excluded: a wish never matches an
--     exclusion) in the same query may match when their token F1,
--     2 * |shared tokens| / (|gold tokens| + |pred tokens|), is at least 0.5 (fixed, part of the
--     metric's definition, so numbers stay comparable);
--   * matching is one-to-one, greedy by token F1: within a query, type and polarity, pairs are taken
--     from the highest token F1 down (ties: gold value, then predicted value, alphabetically), each
--     unless its gold or its predicted entity is already matched. One long prediction overlapping two
--     gold spans ('loyalty and survival' vs 'loyalty', 'survival') matches one of them, not both.
-- One row per (id, entity_type) with at least one candidate pair: n_matched pairs.
-- An exact match has token F1 1, so relaxed counts are >= strict ones. Reads stg_entities.
create or replace view int_relaxed_matches as

with recursive tokenized as (
    select
        e.id,
        e.source,
        e.entity_type,
        e.entity_value,
        e.is_excluded,
        list_distinct(string_split(e.entity_value, ' ')) as tokens
    from stg_entities as e
),

candidates as (
    select
        g.id,
        g.entity_type,
        g.is_excluded,
        g.entity_value as gold_value,
        p.entity_value as pred_value,
        2 * len(list_intersect(g.tokens, p.tokens)) / (len(g.tokens) + len(p.tokens)) as overlap
    from tokenized as g
    inner join tokenized as p
        on
            g.id = p.id
            and g.entity_type = p.entity_type
            and g.is_excluded = p.is_excluded
            and g.source = 'gold'
            and p.source = 'pred'
    where 2 * len(list_intersect(g.tokens, p.tokens)) / (len(g.tokens) + len(p.tokens)) >= 0.5
),

ranked as (
    select
        c.id,
        c.entity_type,
        c.is_excluded,
        c.gold_value,
        c.pred_value,
        row_number() over (
            partition by c.id, c.entity_type, c.is_excluded
            order by c.overlap desc, c.gold_value asc, c.pred_value asc
        ) as step
    from candidates as c
),

-- walk each (query, type)'s candidates in rank order, carrying the gold and pred values taken so far
greedy (id, entity_type, is_excluded, step, gold_used, pred_used) as (
    select
        r.id,
        r.entity_type,
        r.is_excluded,
        r.step,
        [r.gold_value] as gold_used,
        [r.pred_value] as pred_used
    from ranked as r
    where r.step = 1
    union all
    select
        g.id,
        g.entity_type,
        g.is_excluded,
        r.step,
        case
            when list_contains(g.gold_used, r.gold_value) or list_contains(g.pred_used, r.pred_value)
                then g.gold_used
            else list_append(g.gold_used, r.gold_value)
        end as gold_used,
        case
            when list_contains(g.gold_used, r.gold_value) or list_contains(g.pred_used, r.pred_value)
                then g.pred_used
            else list_append(g.pred_used, r.pred_value)
        end as pred_used
    from greedy as g
    inner join ranked as r
        on
            g.id = r.id
            and g.entity_type = r.entity_type
            and g.is_excluded = r.is_excluded
            and r.step = g.step + 1
),

walked as (
    select
        g.id,
        g.entity_type,
        len(g.gold_used) as n_matched
    from greedy as g
    qualify g.step = max(g.step) over (partition by g.id, g.entity_type, g.is_excluded)
),

-- both polarities of a type together: the relaxed scores are per type
final as (
    select
        w.id,
        w.entity_type,
        sum(w.n_matched)::bigint as n_matched
    from walked as w
    group by w.id, w.entity_type
)

select * from final;
