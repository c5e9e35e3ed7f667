-- section: cooccurrence
-- Pairs of entity types mentioned in the same record, most frequent first: records with both,
-- their share of all records, and lift = P(a and b) / (P(a) P(b)) (1 = independent).
with source as (
    select distinct
        ent.id,
        ent.type
    from entities as ent
),

total as (
    select count(*) as n_records
    from records
),

type_counts as (
    select
        src.type,
        count(*) as n_records
    from source as src
    group by src.type
),

pairs as (
    select
        lft.type as type_a,
        rgt.type as type_b,
        count(*) as n_records
    from source as lft
    inner join source as rgt on lft.id = rgt.id and lft.type < rgt.type
    group by lft.type, rgt.type
),

final as (
    select
        par.type_a,
        par.type_b,
        par.n_records,
        round(par.n_records / tot.n_records, 4) as share,
        round(par.n_records * tot.n_records / (tca.n_records * tcb.n_records), 3) as lift
    from pairs as par
    cross join total as tot
    inner join type_counts as tca on par.type_a = tca.type
    inner join type_counts as tcb on par.type_b = tcb.type
    order by par.n_records desc, par.type_a asc, par.type_b asc
)

select * from final
