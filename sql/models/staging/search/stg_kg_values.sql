-- Every distinct KG value per pool with its search key: what a named constraint is matched against
-- (once per value, not once per title). Reads `kg_facts` (title_id, pool, value).
with source as (select * from kg_facts),

final as (
    select distinct
        src.pool,
        src.value,
        search_key(src.value) as value_key
    from source as src
)

select * from final
