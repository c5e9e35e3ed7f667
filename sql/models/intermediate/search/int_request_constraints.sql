-- One row per entity of each request, typed: its KG pool (taxonomy `source`), its kind from
-- search/config.yml (hard / soft / title, or `unused` for pools without KG data such as platform,
-- for a year phrase that names no span, and for a value of a closed pool (`closed_pools`: media type)
-- that names none of the KG's labels even with a typo: 'plz' or 'stuff' is no media type, so it must
-- not filter every title out), the search key to compare (a media-type or genre word
-- mapped to the KG's own label first: 'film' -> 'movie', 'sci-fi' -> 'science fiction'; a closed
-- type's value that names no KG label is compared by the canonical value its lexicon gives it instead:
-- 'dark british comedy' -> 'comedy', while 'romantic comedy', a KG label itself, stays), for years the
-- [first_year, last_year] span, and is_excluded: the user rules the value out ("not a horror movie"),
-- so the titles meeting it are removed (int_excluded_titles.sql) rather than ranked.
-- Reads requests (qid, position, field, value, exclude, canonical), entity_pools, pool_kinds,
-- value_synonyms, year_phrases, closed_pools, stg_kg_values, search_settings.
with source as (select * from requests),

cfg as (select * from search_settings),

intents as (
    select
        src.qid,
        max(src.value) as intent
    from source as src
    where src.field = 'intent'
    group by src.qid
),

entities as (
    select
        src.qid,
        src.position,
        src.field as entity_type,
        src.value,
        src.canonical,
        coalesce(src.exclude, false) as is_excluded
    from source as src
    where src.field != 'intent' and src.value is not null and search_key(src.value) != ''
),

typed as (
    select
        e.qid,
        e.position,
        e.entity_type,
        e.value,
        e.canonical,
        e.is_excluded,
        coalesce(ep.pool, e.entity_type) as pool,
        coalesce(pk.kind, 'unused') as kind
    from entities as e
    left join entity_pools as ep on e.entity_type = ep.entity_type
    left join pool_kinds as pk on coalesce(ep.pool, e.entity_type) = pk.pool
),

keyed as (
    select
        t.*,
        coalesce(search_key(syn.kg_value), search_key(t.value)) as raw_key,
        coalesce(search_key(csyn.kg_value), search_key(t.canonical)) as canonical_key,
        coalesce(
            year_span(t.value, cfg.this_year).first_year,
            case when yp.first_year < 1000 then cfg.this_year + yp.first_year else yp.first_year end
        ) as first_year,
        coalesce(
            year_span(t.value, cfg.this_year).last_year,
            case when yp.last_year < 1000 then cfg.this_year + yp.last_year else yp.last_year end
        ) as last_year
    from typed as t
    cross join cfg
    left join value_synonyms as syn
        on t.pool = syn.pool and search_key(t.value) = search_key(syn.word)
    left join value_synonyms as csyn
        on t.pool = csyn.pool and search_key(t.canonical) = search_key(csyn.word)
    left join year_phrases as yp
        on t.pool = 'year' and search_key(t.value) = search_key(yp.phrase)
),

-- written values that have a canonical apart from them, and among those the ones naming a KG value
-- of their pool (each distinct key once: the lookup is the costly part)
with_canonical as (
    select distinct
        k.pool,
        k.raw_key
    from keyed as k
    where k.canonical_key is not null and k.canonical_key != k.raw_key
),

known_raw as (
    select distinct
        wc.pool,
        wc.raw_key
    from with_canonical as wc
    cross join cfg
    inner join stg_kg_values as v on wc.pool = v.pool
    where name_match(wc.raw_key, v.value_key, cfg.chars_per_edit, cfg.max_edits) > 0
),

-- the value as written when it names a KG value of its pool (or has no canonical), else the canonical
chosen as (
    select
        k.*,
        case
            when k.canonical_key is null or k.canonical_key = k.raw_key or kr.raw_key is not null
                then k.raw_key
            else k.canonical_key
        end as value_key
    from keyed as k
    left join known_raw as kr on k.pool = kr.pool and k.raw_key = kr.raw_key
),

final as (
    select
        k.qid,
        i.intent,
        k.position,
        k.entity_type,
        k.pool,
        k.value,
        k.value_key,
        k.is_excluded,
        case
            when k.pool = 'year' and k.first_year is null then 'unused'
            when
                k.pool in (select cp.pool from closed_pools as cp)
                and not exists (
                    select 1
                    from stg_kg_values as v
                    where
                        v.pool = k.pool
                        and name_match(k.value_key, v.value_key, cfg.chars_per_edit, cfg.max_edits) > 0
                )
                then 'unused'
            else k.kind
        end as kind,
        case when k.pool = 'year' then k.first_year end as first_year,
        case when k.pool = 'year' then k.last_year end as last_year
    from chosen as k
    cross join cfg
    left join intents as i on k.qid = i.qid
)

select * from final
