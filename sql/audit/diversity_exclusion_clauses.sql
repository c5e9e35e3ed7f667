-- section: diversity
-- Exclusion and look-alike clauses (synth/grammar/exclusions.yml): per split, how many records use each
-- clause id, and whether train records use it too. Clauses are dealt to heldout like templates, so a
-- heldout clause with in_train true is an exclusion phrasing that heldout was meant to keep unseen.
with source as (select * from records),

uses as (
    select
        src.split,
        'exclusion' as kind,
        unnest(list_distinct(coalesce(src.exclusion_clauses, []))) as clause_id
    from source as src
    union all
    select
        src.split,
        'lookalike' as kind,
        unnest(list_distinct(coalesce(src.lookalike_clauses, []))) as clause_id
    from source as src
),

train_clauses as (
    select distinct usg.clause_id
    from uses as usg
    where usg.split = 'train'
),

final as (
    select
        usg.split,
        usg.kind,
        usg.clause_id,
        count(*) as n_records,
        trc.clause_id is not null as in_train
    from uses as usg
    left join train_clauses as trc on usg.clause_id = trc.clause_id
    group by usg.split, usg.kind, usg.clause_id, trc.clause_id
    order by usg.split asc, usg.kind asc, usg.clause_id asc
)

select * from final
