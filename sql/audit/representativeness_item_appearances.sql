-- section: representativeness
-- How often each KG title and person appears in the data, most frequent first: records seeded by
-- the title or mentioning it (entity types whose KG pool is 'title'), records mentioning the person
-- (types whose pool is the person's role), compared after normalize_value. Zeros are listed too.
select
    pool,
    item,
    n_records
from int_kg_item_appearances
order by n_records desc, pool asc, item asc
