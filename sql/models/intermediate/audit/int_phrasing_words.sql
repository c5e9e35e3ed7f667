-- One row per word of each phrasing (slots as "{type}", other words lowercased, punctuation dropped), with
-- the phrasing's whole word list and the word's 1-based position, so a file can look at the words before
-- and after a slot. Read by values_role_cues.sql and values_cue_position.sql.
create or replace view int_phrasing_words as

with tokens as (
    select
        phr.id,
        phr.split,
        regexp_extract_all(phr.phrasing, '\{[a-z_]+\}|[a-z0-9'']+') as words
    from phrasings as phr
)

select
    tok.id,
    tok.split,
    tok.words,
    unnest(range(1, len(tok.words) + 1)) as i
from tokens as tok
