-- section: duplicates
-- check: severity=warn threshold=0.01
-- Near-duplicate pairs: two records with the same intent and the same entity values (after
-- normalize_value) whose lowercased queries differ but have similarity >= near_dup_similarity()
-- (1 - levenshtein / longer length). Listed when the share of records in such pairs exceeds threshold.
with source as (select * from records),

keyed as (
    select
        src.id,
        src.split,
        src.intent,
        src.query,
        lower(trim(src.query)) as text,
        coalesce(
            list_sort(
                list_transform(src.entities, lambda ent: ent.type || '=' || normalize_value(ent.value))
            ),
            []
        ) as value_key
    from source as src
),

pairs as (
    select
        lft.id as id_a,
        rgt.id as id_b,
        lft.query as query_a,
        rgt.query as query_b,
        1 - levenshtein(lft.text, rgt.text) / greatest(length(lft.text), length(rgt.text)) as similarity
    from keyed as lft
    inner join keyed as rgt
        on
            lft.intent = rgt.intent
            and lft.value_key = rgt.value_key
            and lft.id < rgt.id
            and lft.text != rgt.text
            -- a length gap alone can rule a pair out; skips most levenshtein calls
            and abs(length(lft.text) - length(rgt.text))
            <= (1 - near_dup_similarity()) * greatest(length(lft.text), length(rgt.text))
),

near as (
    select
        par.id_a,
        par.id_b,
        par.query_a,
        par.query_b,
        par.similarity
    from pairs as par
    where par.similarity >= near_dup_similarity()
),

involved as (
    select count(distinct u.id) as n_records
    from (
        select nea.id_a as id from near as nea
        union all
        select nea.id_b as id from near as nea
    ) as u
),

total as (
    select count(*) as n_records
    from source
),

final as (
    select
        nea.id_a,
        nea.id_b,
        nea.query_a,
        nea.query_b,
        round(nea.similarity, 3) as similarity
    from near as nea
    cross join involved as inv
    cross join total as tot
    where inv.n_records / tot.n_records > threshold()
    order by nea.similarity desc, nea.id_a asc, nea.id_b asc
)

select * from final
