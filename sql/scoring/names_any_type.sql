-- Names scored with and without their type. A name is a value of a `names` type (title, actor,
-- director, character: labels.label_group); `same type` needs the value under the gold type, as the
-- strict scores do (the names micro avg of averages_entity_group.sql), `any names type` counts a
-- gold name found when the prediction holds the same normalized value under any names type (an actor
-- read as a director, a character as an actor). The gap between the rows is the share of names
-- found but given the wrong role; search/ looks a person up in the other roles too
-- (other_role_factor), so the second row is what the search half sees. Micro counts over per-query
-- sets: one value predicted under two name types counts once in the second row. Both rows need the
-- polarity right (an actor ruled out is not an actor asked for), as every strict score does.
-- Reads stg_entities and labels.
with names as (
    select
        se.id,
        se.source,
        se.entity_type,
        se.entity_value,
        se.is_excluded
    from stg_entities as se
    inner join labels as lb on se.entity_type = lb.label
    where lb.kind = 'entity' and lb.label_group = 'names'
),

-- the second matching forgets the type: one row per distinct (query, source, value)
both_ways as (
    select
        'same type' as matching,
        names.*
    from names
    union all
    select distinct
        'any names type' as matching,
        id,
        source,
        '' as entity_type,
        entity_value,
        is_excluded
    from names
),

matched as (
    select
        g.matching,
        count(*) as tp
    from both_ways as g
    inner join both_ways as p
        on
            g.matching = p.matching
            and g.id = p.id
            and g.entity_type = p.entity_type
            and g.entity_value = p.entity_value
            and g.is_excluded = p.is_excluded
    where g.source = 'gold' and p.source = 'pred'
    group by g.matching
),

matchings as (
    select
        'same type' as matching,
        1 as matching_order
    union all
    select
        'any names type' as matching,
        2 as matching_order
),

-- one row per matching even when no query holds a name (support 0, scores 0)
counts as (
    select
        mt.matching,
        mt.matching_order,
        count(bw.source) filter (where bw.source = 'gold') as support,
        coalesce(any_value(m.tp), 0) as tp,
        count(bw.source) filter (where bw.source = 'pred') - coalesce(any_value(m.tp), 0) as fp,
        count(bw.source) filter (where bw.source = 'gold') - coalesce(any_value(m.tp), 0) as fn
    from matchings as mt
    left join both_ways as bw on mt.matching = bw.matching
    left join matched as m on mt.matching = m.matching
    group by mt.matching, mt.matching_order
),

scored as (
    select
        matching,
        matching_order,
        support,
        tp,
        fp,
        fn,
        -- three columns, named by the struct: precision, recall, f1
        unnest(precision_recall_f1(tp, fp, fn))  -- noqa: AL03
    from counts
)

select * exclude (matching_order)
from scored
order by matching_order
