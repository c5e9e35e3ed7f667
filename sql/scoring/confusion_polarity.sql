-- Polarity confusion: for every gold entity whose value the prediction holds under the same type, was it
-- read with the right polarity? One row per (gold_polarity, pred_polarity), 'wish' or 'exclusion',
-- all four always present: the off-diagonal cells are the flips, a wish read as an exclusion ("a
-- horror movie" -> not horror) and an exclusion read as a wish ("not a horror movie" -> horror), each
-- a missed and a spurious entity in the strict scores. A gold entity predicted with both polarities
-- counts as read right. Gold entities the prediction does not hold at all are in no cell.
-- Reads stg_entities.
with readings as (
    select
        g.is_excluded as gold_excluded,
        -- the right polarity when predicted both ways, else the one predicted
        coalesce(bool_or(p.is_excluded = g.is_excluded), false) as is_kept
    from stg_entities as g
    inner join stg_entities as p
        on g.id = p.id and g.entity_type = p.entity_type and g.entity_value = p.entity_value
    where g.source = 'gold' and p.source = 'pred'
    group by g.id, g.entity_type, g.entity_value, g.is_excluded
),

cells as (
    select
        polarity.gold_excluded,
        polarity.pred_excluded,
        polarity.cell_order
    from (values (false, false, 1), (false, true, 2), (true, false, 3), (true, true, 4))
        as polarity (gold_excluded, pred_excluded, cell_order)
),

final as (
    select
        case when c.gold_excluded then 'exclusion' else 'wish' end as gold_polarity,
        case when c.pred_excluded then 'exclusion' else 'wish' end as pred_polarity,
        count(r.gold_excluded) as n
    from cells as c
    left join readings as r
        on
            c.gold_excluded = r.gold_excluded
            and (c.gold_excluded = c.pred_excluded) = r.is_kept
    group by c.gold_excluded, c.pred_excluded, c.cell_order
    order by c.cell_order
)

select * from final
