-- Entities as per-query sets: one row per (id, source, type, normalize_value(value)), so duplicate
-- rows and spellings that normalize alike count once (macros/normalize.sql). `shown` is
-- 'type: value' with the first spelling seen, for error tables. Entity types outside the taxonomy
-- stay here: no class scores them, but they break exact match.
-- Reads `predictions`; needs macros/normalize.sql.
create or replace view stg_entities as

with source as (select * from predictions),

final as (
    select
        src.id,
        src.source,
        src.field as entity_type,
        normalize_value(src.value) as entity_value,
        src.field || ': ' || min(src.value) as shown
    from source as src
    where src.field != 'intent' and src.value is not null
    group by src.id, src.source, src.field, normalize_value(src.value)
)

select * from final;
