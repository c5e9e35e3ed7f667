-- normalize_value(raw_value): the one definition of entity-value normalization, loaded before every
-- other file in eval/sql. An entity is the pair (type, normalize_value(value)) within a query.
--   1. lowercase (DuckDB's lower() is Unicode-aware: 'AMÉLIE' -> 'amélie');
--   2. delete ASCII punctuation, written as an explicit class because DuckDB's \w and \s are
--      ASCII-only ('[^\w\s]' would eat the é of 'Amélie'), plus typographic quotes, dashes and the
--      ellipsis (‘ ’ “ ” – — …) that LLMs emit in place of their ASCII forms;
--   3. collapse runs of whitespace (ASCII \s and Unicode separators \p{Z}, e.g. no-break space)
--      to one space and trim;
--   4. drop one leading article: a, an, the.
-- Examples: 'The Matrix!' -> 'matrix', '  the  90s ' -> '90s', 'Se7en' -> 'se7en', 'Amélie' -> 'amélie'.
create or replace macro normalize_value(raw_value) as
regexp_replace(
    trim(
        regexp_replace(
            regexp_replace(lower(raw_value), '[!-/:-@\[-`{-~‘’“”–—…]', '', 'g'),
            '[\s\p{Z}]+', ' ', 'g'
        )
    ),
    '^(a|an|the) ', ''
);
