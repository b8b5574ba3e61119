-- The person's name and kana as search compares them (`text::search_fold` of each, joined by a
-- line break), so that 「はやし」 finds ハヤシ and 「林優子」 finds 林　優子. A function of the folded
-- state like every projection column: written with the row, filled for the rows before this
-- migration by `Store::migrate`, and checked by `verify`.
ALTER TABLE persons ADD COLUMN search_key TEXT;
