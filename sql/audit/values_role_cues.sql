-- section: values
-- Role cues: the word right before or after a title or person span ("starring {actor}", "{director}
-- {media_type}"), with an adjacent span read as its {type}, and how the data splits that cue between
-- the seed types. An unseen name gets its type from its cue, so a cue the data gives mostly to one role
-- teaches that role: in the grammar of 2026-11-25 "{name} {media_type}" was never an actor (train: director
-- 117, character 26), and the model labelled heldout actors there as directors. Only cues that several seed
-- types share, seen at least role_cue_min_mentions() times in a split; '^' and '$' are the query's ends.
with mentions as (
    select
        pos.split,
        trim(pos.words[pos.i], '{}') as type,
        coalesce(pos.words[pos.i - 1], '^') as before_cue,
        coalesce(pos.words[pos.i + 1], '$') as after_cue
    from int_phrasing_words as pos
    where left(pos.words[pos.i], 1) = '{'
),

seeded as (
    select mnt.*
    from mentions as mnt
    inner join seed_types as sdt on mnt.type = sdt.type
),

cues as (
    select
        split,
        'before' as side,
        before_cue as cue,
        type
    from seeded
    union all
    select
        split,
        'after' as side,
        after_cue as cue,
        type
    from seeded
),

per_type as (
    select
        split,
        side,
        cue,
        type,
        count(*) as n
    from cues
    group by split, side, cue, type
),

final as (
    select
        split,
        side,
        cue,
        sum(n) as mentions,
        count(*) as n_types,
        first(type order by n desc, type asc) as top_type,
        round(max(n) / sum(n), 4) as top_share,
        string_agg(type || ' ' || n, ', ' order by n desc, type asc) as by_type
    from per_type
    group by split, side, cue
    having count(*) >= 2 and sum(n) >= role_cue_min_mentions()
)

select *
from final
order by split asc, mentions desc, side asc, cue asc
