-- One row per query id: how its output ended and its intents. `status` is the pred rows' status
-- ('(missing)' for a query without any pred row); is_valid: the output parsed and validated (status
-- 'ok'); gold_intent / pred_intent: NULL when absent (a pred intent is NULL for an unparseable output).
-- Reads `predictions` (eval/predictions.py).
create or replace view stg_queries as

with source as (select * from predictions),

final as (
    select
        src.id,
        coalesce(max(src.status) filter (where src.source = 'pred'), '(missing)') as status,
        coalesce(bool_or(src.source = 'pred' and src.status = 'ok'), false) as is_valid,
        max(src.value) filter (where src.source = 'gold' and src.field = 'intent') as gold_intent,
        max(src.value) filter (where src.source = 'pred' and src.field = 'intent') as pred_intent
    from source as src
    group by src.id
)

select * from final;
