-- section: leakage
-- How close heldout wording is to train wording: heldout records by the similarity of their phrasing
-- (spans replaced by {type}) to the nearest train phrasing (phrasing_nearest), in bands from
-- identical down; cumulative shares, so ">= 0.8" reads as "this share of heldout records has a train
-- phrasing at least 0.8 similar". check_leakage_heldout_phrasing warns above near_phrasing_similarity().
with source as (
    select *
    from phrasings
    where split = 'heldout'
),

scored as (
    select
        src.id,
        src.phrasing,
        coalesce(nea.similarity, 0) as similarity
    from source as src
    left join phrasing_nearest as nea on src.phrasing = nea.phrasing
),

bands as (
    select
        band.label,
        band.low,
        band.band_order
    from (
        values
        ('identical', 1.0, 1),
        ('>= 0.9', 0.9, 2),
        ('>= 0.8', 0.8, 3),
        ('>= 0.7', 0.7, 4),
        ('any', 0.0, 5)
    ) as band (label, low, band_order)
),

final as (
    select
        bnd.label as similarity,
        count(distinct scr.phrasing) as heldout_phrasings,
        count(scr.id) as heldout_records,
        round(count(scr.id) / (select count(*) from source), 4) as share_of_heldout
    from bands as bnd
    left join scored as scr on bnd.low <= scr.similarity
    group by bnd.label, bnd.band_order
    order by bnd.band_order
)

select * from final
