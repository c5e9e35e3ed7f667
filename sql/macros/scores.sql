-- precision_recall_f1(tp, fp, fn): the struct {precision, recall, f1} of a class's counts, as
-- sklearn's precision_recall_fscore_support(zero_division=0) gives them; `unnest(...)` in a select
-- list makes the three columns. Built on safe_div and f1, so its file sorts after theirs (macros load
-- in name order and a macro binds the ones it calls when it is created).
create or replace macro precision_recall_f1(tp, fp, fn) as
{
    'precision': safe_div(tp, tp + fp),
    'recall': safe_div(tp, tp + fn),
    'f1': f1(tp, fp, fn)
};
