-- Per-type precision, recall, F1, support and counts of EXCLUDED entities (values the user rules out:
-- "not a horror movie", "without Tom Cruise"), one row per type the taxonomy lets users exclude, in
-- taxonomy order, zero_division=0. Strict matching with polarity (int_entity_matches): tp = a gold
-- exclusion predicted as an exclusion; fp = a predicted exclusion the gold does not hold (a wish read
-- as an exclusion is one); fn = a gold exclusion not predicted as one (an exclusion read as a wish is
-- one). Averages: averages_exclusion.sql; flips: confusion_polarity.sql. Definitions: models/.
select * exclude (kind, label_order, label_group, is_present)
from int_class_scores
where kind = 'exclusion'
order by label_order
