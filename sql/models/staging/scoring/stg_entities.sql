-- Entities as per-query sets: one row per (id, source, type, normalize_value(value), is_excluded), so
-- duplicate rows and spellings that normalize alike count once (macros/normalize.sql). is_excluded is
-- the polarity (`exclude` of eval/predictions.py: a value the user rules out, "not a horror movie"):
-- part of the entity, so a wish extracted as an exclusion matches nothing, and the other way round.
-- `shown` is 'type: value' with the first spelling seen ('type: not value' for an exclusion), for
-- error tables. Entity types outside the taxonomy stay here: no class scores them, but they break
-- exact match. Reads `predictions`; needs macros/normalize.sql.
create or replace view stg_entities as

with source as (select * from predictions),

final as (
    select
        src.id,
        src.source,
        src.field as entity_type,
        normalize_value(src.value) as entity_value,
        coalesce(src.exclude, false) as is_excluded,
        src.field || ': ' || case when coalesce(src.exclude, false) then 'not ' else '' end
        || min(src.value) as shown
    from source as src
    where src.field != 'intent' and src.value is not null
    group by src.id, src.source, src.field, normalize_value(src.value), coalesce(src.exclude, false)
)

select * from final;
