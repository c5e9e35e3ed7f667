-- section: representativeness
-- Per KG pool (title, actor, director, character): items in the KG, items that appear in at least
-- one record, the share never seen, and records per item (min, median, mean, max) over all KG items.
-- Same matching as representativeness_item_appearances.
select
    pool,
    count(*) as kg_items,
    count(*) filter (where n_records > 0) as items_in_data,
    round(count(*) filter (where n_records = 0) / count(*), 4) as never_seen_share,
    min(n_records) as records_min,
    median(n_records) as records_median,
    round(avg(n_records), 2) as records_mean,
    max(n_records) as records_max
from int_kg_item_appearances
group by pool
order by pool
