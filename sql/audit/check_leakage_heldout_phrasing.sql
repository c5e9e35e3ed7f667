-- section: leakage
-- check: severity=warn threshold=0.02
-- Heldout phrasings (each entity span replaced by its {type}) identical or near-identical to a train
-- phrasing: similarity >= near_phrasing_similarity() (rapidfuzz ratio / 100, phrasing_nearest). Such a
-- record tests a seen template through the shared paraphrase lexicon, whatever its template id says.
-- Listed when the share of heldout records with such a phrasing exceeds threshold: 0.9 is a one-word
-- or typo difference, and 2% leaves room for the very short phrasings ("play {title}") that
-- independent templates cannot avoid sharing.
with source as (
    select *
    from phrasings
    where split = 'heldout'
),

matched as (
    select
        src.phrasing,
        nea.train_phrasing,
        nea.similarity,
        count(*) as heldout_records
    from source as src
    inner join phrasing_nearest as nea on src.phrasing = nea.phrasing
    where nea.similarity >= near_phrasing_similarity()
    group by src.phrasing, nea.train_phrasing, nea.similarity
),

shares as (
    select coalesce(sum(mat.heldout_records), 0) / (select count(*) from source) as leaked_share
    from matched as mat
),

final as (
    select
        mat.phrasing,
        mat.train_phrasing,
        mat.heldout_records,
        round(mat.similarity, 3) as similarity,
        case when mat.similarity = 1 then 'exact' else 'near' end as kind,
        round(shr.leaked_share, 4) as heldout_leaked_share
    from matched as mat
    cross join shares as shr
    where shr.leaked_share > threshold()
    order by mat.similarity desc, mat.heldout_records desc, mat.phrasing asc
)

select * from final
