-- Which ranking answers each request (search/config.yml `routes`; none for out_of_scope or an
-- unknown intent) and whether titles missing some hard constraints may follow the complete matches
-- (`partial`). Reads requests, intent_routes, partial_intents.
with source as (select * from requests),

final as (
    select distinct
        src.qid,
        src.value as intent,
        ir.route,
        src.value in (select pi.intent from partial_intents as pi) as is_partial
    from source as src
    inner join intent_routes as ir on src.value = ir.intent
    where src.field = 'intent'
)

select * from final
