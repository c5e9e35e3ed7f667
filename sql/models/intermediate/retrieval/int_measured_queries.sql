-- The shared first step of the retrieval metrics (eval/retrieval.py builds it as a table before
-- them): one row per input (gold, model, raw_query) and measured query, i.e. each record whose GOLD
-- intent `measured_intents` lists, with the measure it belongs to, its seed title and a sort key
-- (input, then intent, in configuration order). Reads records, measured_intents, retrieval_inputs.
with source as (select * from records),

final as (
    select
        ri.input,
        rec.qid,
        rec.intent,
        mi.measure,
        rec.seed_title,
        ri.input_order * 1000 + mi.intent_order as sort_key
    from source as rec
    inner join measured_intents as mi on rec.intent = mi.intent
    cross join retrieval_inputs as ri
)

select * from final
