-- year_span(v, this_year): the [first, last] release years a year phrase asks for, or NULL when the
-- phrase is neither a year nor a decade (then the `year_phrases` table is consulted, see
-- views/request_constraints.sql):
--   '1994' -> [1994, 1994]; 'the 1990s', 'the 90s', "'90s" -> [1990, 1999];
--   'the early 80s' -> [1980, 1983], 'the mid-80s' -> [1983, 1986], 'the late 80s' -> [1986, 1989];
--   a two-digit decade above this year's last two digits is of the 1900s ('the 30s' -> 1930s).
create or replace macro decade_start(v, this_year) as
case
    when regexp_matches(search_key(v), '(^|\s)(1[89]|20)\d0 ?s($|\s)')
        then cast(regexp_extract(search_key(v), '(1[89]|20)\d0', 0) as integer)
    when regexp_matches(search_key(v), '(^|\s)\d0 ?s($|\s)')
        then
            case
                when cast(regexp_extract(search_key(v), '(\d)0 ?s', 1) as integer) * 10 > this_year % 100
                    then 1900
                else 2000
            end + cast(regexp_extract(search_key(v), '(\d)0 ?s', 1) as integer) * 10
end;

create or replace macro year_span(v, this_year) as
case
    when regexp_matches(search_key(v), '^(1[89]|20)\d\d$')
        then { 'first_year': cast(search_key(v) as integer), 'last_year': cast(search_key(v) as integer) }
    when decade_start(v, this_year) is not null
        then
            case
                when regexp_matches(search_key(v), '(^|\s)early\s')
                    then
                        {
                            'first_year': decade_start(v, this_year),
                            'last_year': decade_start(v, this_year) + 3
                        }
                when regexp_matches(search_key(v), '(^|\s)mid\s')
                    then
                        {
                            'first_year': decade_start(v, this_year) + 3,
                            'last_year': decade_start(v, this_year) + 6
                        }
                when regexp_matches(search_key(v), '(^|\s)late\s')
                    then
                        {
                            'first_year': decade_start(v, this_year) + 6,
                            'last_year': decade_start(v, this_year) + 9
                        }
                else { 'first_year': decade_start(v, this_year), 'last_year': decade_start(v, this_year) + 9 }
            end
end;
