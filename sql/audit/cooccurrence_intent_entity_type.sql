-- section: cooccurrence
-- Intent x entity type: records of the intent that mention the type at least once, and their share
-- of the intent's records. Every taxonomy pair appears (zeros included), in taxonomy order.
with source as (select * from entities),

intents as (
    select
        tgt.label as intent,
        tgt.label_order as intent_order
    from targets as tgt
    where tgt.kind = 'intent'
),

types as (
    select
        tgt.label as type,
        tgt.label_order as type_order
    from targets as tgt
    where tgt.kind = 'entity_type'
),

intent_counts as (
    select
        rec.intent,
        count(*) as n_records
    from records as rec
    group by rec.intent
),

pair_counts as (
    select
        src.intent,
        src.type,
        count(distinct src.id) as n_records
    from source as src
    group by src.intent, src.type
),

final as (
    select
        itn.intent,
        typ.type,
        coalesce(prc.n_records, 0) as n_records,
        round(coalesce(prc.n_records, 0) / nullif(inc.n_records, 0), 4) as share_of_intent
    from intents as itn
    cross join types as typ
    left join intent_counts as inc on itn.intent = inc.intent
    left join pair_counts as prc on itn.intent = prc.intent and typ.type = prc.type
    order by itn.intent_order, typ.type_order
)

select * from final
