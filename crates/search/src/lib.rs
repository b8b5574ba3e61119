//! The full-text index of case records (支援経過, アセスメント, プラン, モニタリング, 評価, つなぎ, …):
//! tantivy with a tokenizer that needs no dictionary ([`tokenize`]). The index is a cache of the
//! event store: it holds one document per record event and, in its commit, the place in the
//! store's order of commits up to which it has read (`watermark`); whoever writes to it reads
//! on from there. It says nothing about access: the use-case layer filters every hit through
//! the same access projection the lists use.

pub mod tokenize;

use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, TermQuery, TermSetQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Directory(String),
}

/// A record to index: one event of a case that carries text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordDoc {
    pub tenant: String,
    pub case_id: String,
    /// The event's version on its case.
    pub version: u64,
    /// The event's type (`contact_recorded`, …).
    pub kind: String,
    /// The business date the record carries (ISO), empty when none.
    pub on: String,
    pub text: String,
}

/// A record found: where it is, and the part of its text that matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub case_id: String,
    pub version: u64,
    pub kind: String,
    pub on: String,
    /// A fragment of the text around the match, and the byte ranges in it that matched.
    pub fragment: String,
    pub marks: Vec<(usize, usize)>,
}

struct Fields {
    tenant: Field,
    case_id: Field,
    version: Field,
    kind: Field,
    on: Field,
    text: Field,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

/// The index writer's memory budget (tantivy needs at least 15 MB a thread).
const WRITER_HEAP: usize = 64 * 1024 * 1024;

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_options = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenize::NAME)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        tenant: b.add_text_field("tenant", STRING),
        case_id: b.add_text_field("case_id", STRING | STORED),
        version: b.add_u64_field("version", STORED),
        kind: b.add_text_field("kind", STORED),
        on: b.add_text_field("on", STORED),
        text: b.add_text_field("text", text_options),
    };
    (b.build(), fields)
}

impl SearchIndex {
    /// Opens the index in `dir` (created when missing or made by an older schema), or one in
    /// memory when `dir` is `None` (it is then filled from the store when first read).
    pub fn open(dir: Option<&Path>) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        let index = match dir {
            None => Index::create_in_ram(schema.clone()),
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| SearchError::Directory(format!("{}: {e}", dir.display())))?;
                let mmap = tantivy::directory::MmapDirectory::open(dir)
                    .map_err(|e| SearchError::Directory(format!("{}: {e}", dir.display())))?;
                match Index::open_or_create(mmap, schema.clone()) {
                    Ok(index) => index,
                    // Another schema (an older version's index): it is only a cache; start again.
                    Err(tantivy::TantivyError::SchemaError(_)) => {
                        Self::remove_files(dir)?;
                        let mmap = tantivy::directory::MmapDirectory::open(dir).map_err(|e| {
                            SearchError::Directory(format!("{}: {e}", dir.display()))
                        })?;
                        Index::open_or_create(mmap, schema)?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        index.tokenizers().register(
            tokenize::NAME,
            TextAnalyzer::from(tokenize::BigramTokenizer),
        );
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer_with_num_threads(1, WRITER_HEAP)?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    fn remove_files(dir: &Path) -> Result<(), SearchError> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| SearchError::Directory(format!("{}: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                std::fs::remove_file(&path)
                    .map_err(|e| SearchError::Directory(format!("{}: {e}", path.display())))?;
            }
        }
        Ok(())
    }

    /// The place in the store's order of commits up to which the index has read.
    pub fn watermark(&self) -> i64 {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Adds records and commits them with the new watermark; readers see them on return.
    pub fn add(&self, docs: &[RecordDoc], watermark: i64) -> Result<(), SearchError> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| SearchError::Directory("the index writer was poisoned".into()))?;
        let f = &self.fields;
        for d in docs {
            let mut doc = TantivyDocument::default();
            doc.add_text(f.tenant, &d.tenant);
            doc.add_text(f.case_id, &d.case_id);
            doc.add_u64(f.version, d.version);
            doc.add_text(f.kind, &d.kind);
            doc.add_text(f.on, &d.on);
            doc.add_text(f.text, &d.text);
            writer.add_document(doc)?;
        }
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&watermark.to_string());
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Empties the index (its watermark back to 0).
    pub fn clear(&self) -> Result<(), SearchError> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| SearchError::Directory("the index writer was poisoned".into()))?;
        writer.delete_all_documents()?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload("0");
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// How many records the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The query as the index reads it: each word (split at spaces) must occur, as its folded
    /// pairs at their distances. `None` when the query has no letter or digit.
    fn query(&self, tenant: &str, cases: Option<&[String]>, words: &str) -> Option<BooleanQuery> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(f.tenant, tenant),
                IndexRecordOption::Basic,
            )),
        )];
        if let Some(cases) = cases {
            clauses.push((
                Occur::Must,
                Box::new(TermSetQuery::new(
                    cases.iter().map(|c| Term::from_field_text(f.case_id, c)),
                )),
            ));
        }
        let filters = clauses.len();
        for word in words.split_whitespace() {
            let tokens = tokenize::tokens(word);
            let q: Box<dyn Query> = match tokens.as_slice() {
                [] => continue,
                [one] => Box::new(TermQuery::new(
                    Term::from_field_text(f.text, &one.text),
                    IndexRecordOption::WithFreqs,
                )),
                many => Box::new(PhraseQuery::new_with_offset(
                    many.iter()
                        .map(|t| (t.position, Term::from_field_text(f.text, &t.text)))
                        .collect(),
                )),
            };
            clauses.push((Occur::Must, q));
        }
        (clauses.len() > filters).then(|| BooleanQuery::new(clauses))
    }

    /// The tenant's records that hold every word of the query, best first, at most `limit`;
    /// with `cases`, only records of those cases (an empty list finds nothing).
    pub fn search(
        &self,
        tenant: &str,
        cases: Option<&[String]>,
        words: &str,
        limit: usize,
    ) -> Result<Vec<Hit>, SearchError> {
        Ok(self
            .search_by_case(tenant, cases, words, limit, usize::MAX, usize::MAX)?
            .hits)
    }

    /// Reads the best `read` records (as [`search`](Self::search)) and keeps at most `per_case`
    /// of each case for the first `max_cases` cases; only the kept records get a fragment
    /// (making fragments is most of a search's cost).
    pub fn search_by_case(
        &self,
        tenant: &str,
        cases: Option<&[String]>,
        words: &str,
        read: usize,
        per_case: usize,
        max_cases: usize,
    ) -> Result<Found, SearchError> {
        if cases.is_some_and(<[String]>::is_empty) {
            return Ok(Found::default());
        }
        let Some(query) = self.query(tenant, cases, words) else {
            return Ok(Found::default());
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(read.max(1)).order_by_score())?;
        let mut snippets: Option<SnippetGenerator> = None;
        let f = &self.fields;
        // Each case's place in order of first appearance, and how many of its records came.
        let mut seen: std::collections::HashMap<String, (usize, usize)> =
            std::collections::HashMap::new();
        let mut found = Found {
            hits: Vec::new(),
            read: top.len(),
            cases: 0,
            case_order: Vec::new(),
        };
        for (_, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let case_id = text(f.case_id);
            let next = seen.len();
            let (place, count) = seen.entry(case_id.clone()).or_insert_with(|| {
                found.case_order.push(case_id.clone());
                (next, 0)
            });
            *count += 1;
            if *count > per_case || *place >= max_cases {
                continue;
            }
            let generator = match &mut snippets {
                Some(g) => g,
                None => {
                    let mut g = SnippetGenerator::create(&searcher, &query, f.text)?;
                    g.set_max_num_chars(120);
                    snippets.insert(g)
                }
            };
            let snippet = generator.snippet_from_doc(&doc);
            found.hits.push(Hit {
                case_id,
                version: doc
                    .get_first(f.version)
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0),
                kind: text(f.kind),
                on: text(f.on),
                fragment: snippet.fragment().to_owned(),
                marks: merged(snippet.highlighted().iter().map(|r| (r.start, r.end))),
            });
        }
        found.cases = seen.len();
        Ok(found)
    }
}

/// The records a search keeps, and how much it read.
#[derive(Clone, Debug, Default)]
pub struct Found {
    /// The kept records, best first.
    pub hits: Vec<Hit>,
    /// How many records matched, up to the number read.
    pub read: usize,
    /// How many cases those records belong to.
    pub cases: usize,
    /// Those cases, in order of their best record.
    pub case_order: Vec<String>,
}

/// Ranges merged where they overlap or touch: the pairs of one word mark the word once.
fn merged(ranges: impl Iterator<Item = (usize, usize)>) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = ranges.collect();
    ranges.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn doc(tenant: &str, case: &str, version: u64, text: &str) -> RecordDoc {
        RecordDoc {
            tenant: tenant.into(),
            case_id: case.into(),
            version,
            kind: "contact_recorded".into(),
            on: "2026-11-24".into(),
            text: text.into(),
        }
    }

    #[test]
    fn finds_words_in_any_script_within_its_tenant_and_keeps_its_watermark() {
        let dir = std::env::temp_dir().join(format!("tsunagu-search-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let index = SearchIndex::open(Some(&dir)).unwrap();
            assert_eq!(index.watermark(), 0);
            index
                .add(
                    &[
                        doc(
                            "t1",
                            "c1",
                            2,
                            "家賃を３か月滞納している。ガス代も払えていない。",
                        ),
                        doc("t1", "c2", 3, "ハローワークに同行した"),
                        doc("t2", "c3", 2, "家賃の滞納について相談"),
                    ],
                    42,
                )
                .unwrap();
            let found = |q: &str| -> Vec<String> {
                index
                    .search("t1", None, q, 10)
                    .unwrap()
                    .into_iter()
                    .map(|h| h.case_id)
                    .collect()
            };
            assert_eq!(found("滞納"), ["c1"]);
            assert_eq!(found("家賃　滞納"), ["c1"], "every word, anywhere");
            assert_eq!(found("ｶﾞｽ代"), ["c1"]);
            assert_eq!(found("はろーわーく"), ["c2"]);
            assert!(found("滞納 同行").is_empty());
            assert!(
                found("家賃滞納").is_empty(),
                "a phrase is the words as written"
            );
            assert!(found("、、").is_empty());
            let hit = &index.search("t1", None, "ガス代", 10).unwrap()[0];
            // Only the cases named.
            let only = |cases: &[&str]| {
                let cases: Vec<String> = cases.iter().map(|c| c.to_string()).collect();
                index.search("t1", Some(&cases), "家賃", 10).unwrap().len()
            };
            assert_eq!((only(&["c1"]), only(&["c2"]), only(&[])), (1, 0, 0));
            let (a, b) = hit.marks[0];
            assert_eq!(&hit.fragment[a..b], "ガス代");
        }
        // Reopened: the records and the watermark are still there.
        let index = SearchIndex::open(Some(&dir)).unwrap();
        assert_eq!(index.watermark(), 42);
        assert_eq!(index.len(), 3);
        index.clear().unwrap();
        assert_eq!((index.watermark(), index.len()), (0, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_search_by_case_keeps_a_few_records_of_the_first_cases_and_counts_the_rest() {
        let index = SearchIndex::open(None).unwrap();
        let docs: Vec<RecordDoc> = (0..9)
            .map(|i| doc("t1", &format!("c{}", i % 3), i, "家賃の相談"))
            .collect();
        index.add(&docs, 9).unwrap();
        let found = index.search_by_case("t1", None, "家賃", 100, 2, 2).unwrap();
        assert_eq!((found.read, found.cases), (9, 3));
        assert_eq!(found.hits.len(), 4, "two records of each of two cases");
        let cases: std::collections::HashSet<&str> =
            found.hits.iter().map(|h| h.case_id.as_str()).collect();
        assert_eq!(cases.len(), 2);
        assert!(found.hits.iter().all(|h| !h.marks.is_empty()));
    }
}
