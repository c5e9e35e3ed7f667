-- fold_text(raw_value, for_search): the one folding of text before any comparison. Both forms
-- lowercase, collapse runs of whitespace (ASCII \s and Unicode separators \p{Z}, e.g. no-break space) to
-- one space, trim, and drop one leading article (a, an, the). Punctuation is an explicit class: DuckDB's
-- \w and \s are ASCII-only ('[^\w\s]' would eat the é of 'Amélie'); typographic quotes, dashes and the
-- ellipsis (‘ ’ “ ” – — …) count, since LLMs emit them in place of their ASCII forms.
--   for_search = false (scoring, audit: an extracted value against its gold): punctuation deleted,
--     accents kept: 'The Matrix!' -> 'matrix', 'WALL-E' -> 'walle', 'Amélie' -> 'amélie'.
--   for_search = true (search, retrieval: a query word against a KG name): accents stripped,
--     apostrophes deleted ("Schindler's" -> 'schindlers'), other punctuation a space: 'WALL-E' ->
--     'wall e', 'Amélie' -> 'amelie'.
-- The two differ so that the metrics keep their definition while search forgives more.
create or replace macro fold_text(raw_value, for_search) as
regexp_replace(
    trim(
        regexp_replace(
            case
                when for_search
                    then
                        regexp_replace(
                            regexp_replace(lower(strip_accents(raw_value)), '[''‘’`]', '', 'g'),
                            '[!-/:-@\[-`{-~“”–—…]', ' ', 'g'
                        )
                else regexp_replace(lower(raw_value), '[!-/:-@\[-`{-~‘’“”–—…]', '', 'g')
            end,
            '[\s\p{Z}]+', ' ', 'g'
        )
    ),
    '^(a|an|the) ', ''
);

-- normalize_value(v): an entity is the pair (type, normalize_value(value)) within a query.
-- Examples: 'The Matrix!' -> 'matrix', '  the  90s ' -> '90s', 'Se7en' -> 'se7en', 'Amélie' -> 'amélie'.
create or replace macro normalize_value(raw_value) as fold_text(raw_value, false);

-- search_key(v): the key names, titles and text are compared by in search ('The Matrix' -> 'matrix').
create or replace macro search_key(raw_value) as fold_text(raw_value, true);

-- text_tokens(v): search_key(v) split into words, each lightly stemmed (a trailing plural 's' of a
-- word longer than three letters goes, so 'wolves'/'wolf' stay apart but 'spies'/'spie' and
-- 'heists'/'heist' meet); the same on both sides of every BM25 comparison. Stopwords are removed by
-- the views that join the `stopwords` table.
create or replace macro text_tokens(raw_value) as
list_transform(
    list_filter(string_split(search_key(raw_value), ' '), lambda tok: tok != ''),
    lambda tok: case
        when length(tok) > 3 and tok like '%s' and tok not like '%ss' then tok[:-2]
        else tok
    end
);

-- name_match(a, b, chars_per_edit, max_edits): how well a query name `a` matches a KG name `b`
-- (both search keys), 0 when it does not: 1 when equal; 0.9 when every word of `a` is a word of `b`
-- ('castillo' in 'martin castillo', 'comedy' in 'romantic comedy'), so a surname alone still finds
-- the person; otherwise a typo: at most one Damerau-Levenshtein edit per `chars_per_edit` letters of
-- `a` (and never more than `max_edits`), scored by Jaro-Winkler below 1. Jaro-Winkler alone is not
-- the test: 'emma stone' / 'emma thompson' scores 0.90 on it.
create or replace macro name_match(a, b, chars_per_edit, max_edits) as
case
    when a = b then 1.0
    when
        length(a) >= 3
        and list_has_all(string_split(b, ' '), string_split(a, ' '))
        then 0.9
    when
        abs(length(a) - length(b)) <= least(max_edits, length(a) // chars_per_edit)
        and damerau_levenshtein(a, b) <= least(max_edits, length(a) // chars_per_edit)
        then 0.99 * jaro_winkler_similarity(a, b)
    else 0.0
end;
