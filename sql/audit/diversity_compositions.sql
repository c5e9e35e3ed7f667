-- section: diversity
-- Compositions (synth/grammar.py): per split, how many records come from a composition's variants (a
-- head plus a seeded ordered subset of its clauses; template ids "<composition>.<clause indices>"), how
-- many variants and compositions they use, and the clause counts. A heldout variant is a clause order
-- or subset that no train record has, made of clauses that train records do have.
with composed as (
    select
        split,
        template_id,
        split_part(template_id, '.', 1) as composition,
        len(string_split(split_part(template_id, '.', 2), '-')) as n_clauses
    from records
    where template_id like '%.%'
),

totals as (
    select
        split,
        count(*) as records
    from records
    group by split
)

select
    tot.split,
    tot.records,
    count(cmp.template_id) as composed_records,
    round(count(cmp.template_id) / tot.records, 4) as composed_share,
    count(distinct cmp.template_id) as variants,
    count(distinct cmp.composition) as compositions,
    round(avg(cmp.n_clauses), 2) as mean_clauses
from totals as tot
left join composed as cmp on tot.split = cmp.split
group by tot.split, tot.records
order by tot.split asc
