-- section: cooccurrence
-- Intent x entity type: records of the intent that mention the type at least once, and their share
-- of the intent's records. Every taxonomy pair appears (zeros included), in taxonomy order. The
-- labels, their order and the records per intent are int_label_balance's.
with source as (select * from entities),

intents as (
    select
        lbl.label as intent,
        lbl.label_order as intent_order,
        lbl.n_records
    from int_label_balance as lbl
    where lbl.kind = 'intent'
),

types as (
    select
        lbl.label as type,
        lbl.label_order as type_order
    from int_label_balance as lbl
    where lbl.kind = 'entity_type'
),

final as (
    select
        itn.intent,
        typ.type,
        count(distinct src.id) as n_records,
        round(count(distinct src.id) / nullif(itn.n_records, 0), 4) as share_of_intent
    from intents as itn
    cross join types as typ
    left join source as src on itn.intent = src.intent and typ.type = src.type
    group by itn.intent, typ.type, itn.n_records, itn.intent_order, typ.type_order
    order by itn.intent_order, typ.type_order
)

select * from final
