-- Per-class precision, recall, F1 and support for every taxonomy class of each kind (intent, entity,
-- relaxed_entity, and exclusion over the types `labels` lists as excludable; see int_class_counts), in
-- taxonomy order, with sklearn's zero_division=0:
-- precision_recall_fscore_support(..., labels=<taxonomy>, zero_division=0). A class never seen gets
-- zeros, and is_present = false (no gold, no prediction): the macro average leaves it out.
-- label_group: the entity type's group from `labels` ('names' / 'closed_vocabulary'), NULL for intents
-- and exclusions (scored as one group).
-- Reads `labels` (kind, label, label_order, label_group) and int_class_counts; needs macros/.
create or replace view int_class_scores as

with classes as (
    select
        kinds.kind,
        lbl.label,
        lbl.label_order,
        lbl.label_group
    from labels as lbl
    inner join (
        values
        ('intent', 'intent'), ('entity', 'entity'), ('relaxed_entity', 'entity'),
        ('exclusion', 'exclusion')
    )
        as kinds (kind, label_kind)
        on lbl.kind = kinds.label_kind
),

counts as (
    select
        cls.kind,
        cls.label_order,
        cls.label_group,
        cls.label,
        coalesce(c.tp, 0) as tp,
        coalesce(c.fp, 0) as fp,
        coalesce(c.fn, 0) as fn
    from classes as cls
    left join int_class_counts as c on cls.kind = c.kind and cls.label = c.label
),

scores as (
    select
        kind,
        label_order,
        label_group,
        label,
        tp,
        fp,
        fn,
        -- three columns, named by the struct: precision, recall, f1
        unnest(precision_recall_f1(tp, fp, fn)),  -- noqa: AL03
        tp + fn as support,
        tp + fp + fn > 0 as is_present
    from counts
),

-- the per_class_* column order: label, precision, recall, f1, support, tp, fp, fn
final as (
    select
        kind,
        label_order,
        label_group,
        label,
        precision,
        recall,
        f1,
        support,
        tp,
        fp,
        fn,
        is_present
    from scores
)

select * from final;
