-- section: values
-- Cue position: whether a person's role word comes before the name ("played by {actor}", "directed by
-- {director}"), only after it ("{character} was played by {actor}", "{director} directed {title}"), or
-- nowhere ("who is {character} in {title}"). The model writes entities in query order, so it types a name
-- before it writes anything after it; a grammar whose role words come before the names teaches it to type
-- a name by the words before it: a model trained on the 2026-11-29 grammar typed "{character}, played
-- by {actor}" as actor then character in 15 of 18 heldout queries. Per split and person type: mentions,
-- and how many have their role word before, only after, or nowhere.
with cues as (
    -- words that say who a name is; "with", "featuring", "features" and "from" introduce a name, so they
    -- count before it only ("{actor} with {actor2}", "{character} from {title}" say nothing of the first)
    select
        [
            'starring', 'stars', 'starred', 'star', 'as', 'by', 'plays', 'played', 'playing', 'play', 'voice',
            'voices', 'voiced', 'director', 'directed', 'direct', 'directs', 'made', 'make', 'character',
            'named', 'called', 'role', 'actor', 'actress', 'lead', 'villain', 'hero'
        ] as after_words,
        list_concat(after_words, ['with', 'featuring', 'features', 'from']) as before_words
),

mentions as (
    select
        pos.split,
        trim(pos.words[pos.i], '{}') as type,
        list_has_any(pos.words[1:pos.i - 1], cue.before_words) as cue_before,
        list_has_any(pos.words[pos.i + 1:], cue.after_words) as cue_after
    from int_phrasing_words as pos
    cross join cues as cue
    where pos.words[pos.i] in ('{actor}', '{director}', '{character}')
)

select
    split,
    type,
    count(*) as mentions,
    count(*) filter (where cue_before) as n_cue_before,
    count(*) filter (where not cue_before and cue_after) as n_cue_after_only,
    count(*) filter (where not cue_before and not cue_after) as n_no_cue,
    round(count(*) filter (where not cue_before and cue_after) / count(*), 4) as share_cue_after_only
from mentions
group by split, type
order by split asc, type asc
