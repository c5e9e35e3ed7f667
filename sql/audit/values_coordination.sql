-- section: values
-- Coordination: two values of one type joined by "and", "or", "&" or a comma ("themes of {theme} and
-- {theme2}", "on {platform}, {platform2} or {platform3}"), each its own entity. A model that never saw one
-- type coordinated merges the pair into one span or gives the second value another type: a model trained
-- on the 2026-11-29 grammar read "themes of lost innocence and morality in war" as one theme and "is X on
-- hulu or max" without max, because only heldout templates coordinated themes, platforms and characters.
-- Per split and type: records holding such a pair, their share of the records with that type, and the
-- joiners used.
with positions as (
    -- words, slots and the joiners "," and "&" (values_role_cues.sql reads words only, int_phrasing_words)
    select
        phr.id,
        phr.split,
        tok.words,
        unnest(range(1, len(tok.words) + 1)) as i
    from phrasings as phr,
        lateral (select regexp_extract_all(phr.phrasing, '\{[a-z_]+\}|[a-z0-9'']+|[,&]') as words) as tok
),

pairs as (
    -- "{t} and {t}", "{t} , {t}", and the serial comma "{t} , or {t}"
    select
        pos.id,
        pos.split,
        trim(pos.words[pos.i], '{}') as type,
        case
            when pos.words[pos.i + 2] = pos.words[pos.i] then pos.words[pos.i + 1]
            else pos.words[pos.i + 1] || ' ' || pos.words[pos.i + 2]
        end as joiner
    from positions as pos
    where
        left(pos.words[pos.i], 1) = '{'
        and (
            (pos.words[pos.i + 1] in ('and', 'or', '&', ',') and pos.words[pos.i + 2] = pos.words[pos.i])
            or (
                pos.words[pos.i + 1] = ','
                and pos.words[pos.i + 2] in ('and', 'or')
                and pos.words[pos.i + 3] = pos.words[pos.i]
            )
        )
),

typed_records as (
    select
        split,
        type,
        count(distinct id) as n_type_records
    from entities
    group by split, type
),

pair_records as (
    select
        split,
        type,
        count(distinct id) as n_records
    from pairs
    group by split, type
),

per_joiner as (
    select
        split,
        type,
        -- a comma joiner is spelled out, so the list's own separators stay readable
        replace(joiner, ',', 'comma') as joiner,
        count(*) as n
    from pairs
    group by split, type, joiner
),

joiner_lists as (
    select
        split,
        type,
        string_agg(joiner || ' ' || n, ', ' order by n desc, joiner asc) as joiners
    from per_joiner
    group by split, type
)

select
    prc.split,
    prc.type,
    prc.n_records,
    jls.joiners,
    round(prc.n_records / tre.n_type_records, 4) as share_of_type_records
from pair_records as prc
inner join typed_records as tre on prc.split = tre.split and prc.type = tre.type
inner join joiner_lists as jls on prc.split = jls.split and prc.type = jls.type
order by prc.split asc, prc.n_records desc, prc.type asc
