//! Persisted queries. Automatic persisted queries (the Apollo and urql protocol): a client
//! sends `extensions.persistedQuery.sha256Hash` alone; if the server knows the hash it runs the
//! document, otherwise it answers `PersistedQueryNotFound` and the client sends the document
//! once with its hash, which the server keeps in a bounded cache. In allow-list mode
//! (`--persisted-only`) only the documents of an operator's manifest run, by hash or in full.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// How many documents the automatic cache keeps (least recently used go first).
pub const APQ_CACHE_ENTRIES: usize = 2_000;

pub struct PersistedQueries {
    cache: Mutex<lru::LruCache<String, Arc<str>>>,
    /// The registered documents by hash, when only they may run.
    allow_list: Option<HashMap<String, Arc<str>>>,
}

/// Why a request's document could not be settled.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The hash is unknown: the client should send the document with it.
    NotFound,
    /// The document's hash is not the one sent with it, or the extension is malformed.
    Malformed,
    /// Allow-list mode, and the document is not registered.
    NotRegistered,
}

pub use crate::config::document_hash as hash;

impl PersistedQueries {
    pub fn new(allow_list: Option<HashMap<String, Arc<str>>>) -> PersistedQueries {
        PersistedQueries {
            cache: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(APQ_CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN),
            )),
            allow_list,
        }
    }

    /// Reads a manifest (see [`crate::config::parse_manifest`]).
    pub fn parse_manifest(text: &str) -> Result<HashMap<String, Arc<str>>, String> {
        crate::config::parse_manifest(text)
    }

    /// Only the registered documents run (`--persisted-only`).
    pub fn allow_list_only(&self) -> bool {
        self.allow_list.is_some()
    }

    /// Settles the document of a request: the text it carries (checked against its hash and,
    /// in allow-list mode, against the list), or the one its hash names.
    pub fn settle(
        &self,
        query: Option<&str>,
        extension: Option<&serde_json::Value>,
    ) -> Result<Option<Arc<str>>, Refusal> {
        let sent_hash = match extension {
            None => None,
            Some(ext) => {
                let version_ok = ext.get("version").and_then(|v| v.as_i64()) == Some(1);
                match ext.get("sha256Hash").and_then(|h| h.as_str()) {
                    Some(h) if version_ok && h.len() == 64 => Some(h.to_ascii_lowercase()),
                    _ => return Err(Refusal::Malformed),
                }
            }
        };
        match (query, sent_hash) {
            (Some(q), Some(h)) => {
                if hash(q) != h {
                    return Err(Refusal::Malformed);
                }
                match &self.allow_list {
                    Some(list) if !list.contains_key(&h) => Err(Refusal::NotRegistered),
                    Some(_) => Ok(None),
                    None => {
                        if let Ok(mut cache) = self.cache.lock() {
                            cache.put(h, Arc::from(q));
                        }
                        Ok(None)
                    }
                }
            }
            (None, Some(h)) => {
                let found = match &self.allow_list {
                    Some(list) => list.get(&h).cloned(),
                    None => self.cache.lock().ok().and_then(|mut c| c.get(&h).cloned()),
                };
                found.map(Some).ok_or(Refusal::NotFound)
            }
            (Some(q), None) => match &self.allow_list {
                Some(list) if !list.contains_key(&hash(q)) => Err(Refusal::NotRegistered),
                _ => Ok(None),
            },
            (None, None) => Err(Refusal::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "{ __typename }";

    fn ext(h: &str) -> serde_json::Value {
        serde_json::json!({ "version": 1, "sha256Hash": h })
    }

    #[test]
    fn automatic_persisted_queries_register_once_and_run_by_hash() {
        let pq = PersistedQueries::new(None);
        let h = hash(DOC);
        assert_eq!(pq.settle(None, Some(&ext(&h))), Err(Refusal::NotFound));
        assert_eq!(pq.settle(Some(DOC), Some(&ext(&h))), Ok(None));
        assert_eq!(
            pq.settle(None, Some(&ext(&h))).ok().flatten().as_deref(),
            Some(DOC)
        );
        assert_eq!(
            pq.settle(Some("{ other }"), Some(&ext(&h))),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            pq.settle(
                None,
                Some(&serde_json::json!({ "version": 2, "sha256Hash": h }))
            ),
            Err(Refusal::Malformed)
        );
        assert_eq!(pq.settle(Some("{ anything }"), None), Ok(None));
    }

    #[test]
    fn the_cache_is_bounded() {
        let pq = PersistedQueries::new(None);
        let docs: Vec<String> = (0..=APQ_CACHE_ENTRIES)
            .map(|i| format!("{{ a{i}: __typename }}"))
            .collect();
        for d in &docs {
            pq.settle(Some(d), Some(&ext(&hash(d)))).unwrap();
        }
        assert_eq!(pq.cache.lock().unwrap().len(), APQ_CACHE_ENTRIES);
        assert_eq!(
            pq.settle(None, Some(&ext(&hash(&docs[0])))),
            Err(Refusal::NotFound),
            "the oldest went first"
        );
    }

    #[test]
    fn allow_list_mode_runs_registered_documents_only() {
        let manifest = format!(
            r#"{{"format":"apollo-persisted-query-manifest","version":1,"operations":[{{"id":"{}","name":"T","type":"query","body":"{DOC}"}}]}}"#,
            hash(DOC)
        );
        let list = PersistedQueries::parse_manifest(&manifest).unwrap();
        let pq = PersistedQueries::new(Some(list));
        let h = hash(DOC);
        assert_eq!(
            pq.settle(None, Some(&ext(&h))).ok().flatten().as_deref(),
            Some(DOC)
        );
        assert_eq!(pq.settle(Some(DOC), None), Ok(None));
        assert_eq!(
            pq.settle(Some("{ me { id } }"), None),
            Err(Refusal::NotRegistered)
        );
        let other = "{ me { id } }";
        assert_eq!(
            pq.settle(Some(other), Some(&ext(&hash(other)))),
            Err(Refusal::NotRegistered),
            "nothing registers itself"
        );
        assert!(PersistedQueries::parse_manifest(r#"{"abc": "{ x }"}"#).is_err());
    }
}
