//! The static side of a stream-static join: rows given once (a program's `Vec`, or a file read
//! once), hashed by their equi-join key.
//!
//! Spark's equi-join semantics: a null key never matches, so rows whose key has a null column
//! are left out of the hash table (they cannot match any stream row), and a stream row whose key
//! has a null probes nothing. Several table rows with the stream row's key give several output
//! rows, in the table's row order.

use std::any::Any;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use hashbrown::{Equivalent, HashMap};

use crate::batch::BatchContext;
use crate::error::Error;

/// The rows of a static table grouped by their equi-join key `K`. Lookups take any borrowed
/// form of the key ([`Equivalent`]): a `&str` for a `String` key, so probing allocates nothing.
pub struct StaticTable<K, R> {
    groups: HashMap<K, Vec<R>>,
    rows: usize,
    null_keys: usize,
}

impl<K, R> fmt::Debug for StaticTable<K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTable")
            .field("rows", &self.rows)
            .field("keys", &self.groups.len())
            .field("null_keys", &self.null_keys)
            .finish()
    }
}

impl<K: Hash + Eq, R> StaticTable<K, R> {
    /// Hashes `rows` by `key`, which gives `None` when a key column is null (such a row can
    /// never match and is not kept).
    pub fn build(rows: impl IntoIterator<Item = R>, key: impl Fn(&R) -> Option<K>) -> Self {
        let mut groups: HashMap<K, Vec<R>> = HashMap::new();
        let (mut kept, mut null_keys) = (0, 0);
        for row in rows {
            match key(&row) {
                Some(k) => {
                    groups.entry(k).or_default().push(row);
                    kept += 1;
                }
                None => null_keys += 1,
            }
        }
        StaticTable {
            groups,
            rows: kept,
            null_keys,
        }
    }

    /// The rows whose key equals `key`, in the order they were given; empty when none does.
    #[inline]
    pub fn probe<Q: Hash + Equivalent<K> + ?Sized>(&self, key: &Q) -> &[R] {
        self.groups.get(key).map_or(&[], Vec::as_slice)
    }

    /// The rows kept (every row whose key has no null).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was kept.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The distinct keys.
    pub fn keys(&self) -> usize {
        self.groups.len()
    }

    /// The rows left out because a key column was null.
    pub fn null_key_rows(&self) -> usize {
        self.null_keys
    }
}

/// The borrowed form of a composite key `(K1, K2, ...)`: a tuple of views (`&str` for a
/// `String` part), hashed as the owned tuple is, so lookups allocate nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyRef<T>(pub T);

/// A part of a [`KeyRef`]: compares with the owned part it stands for.
pub trait KeyPart<K> {
    /// Whether the part equals `owned`.
    fn matches(&self, owned: &K) -> bool;
}

impl KeyPart<String> for &str {
    #[inline]
    fn matches(&self, owned: &String) -> bool {
        *self == owned.as_str()
    }
}

impl<T: Copy + PartialEq> KeyPart<T> for T {
    #[inline]
    fn matches(&self, owned: &T) -> bool {
        self == owned
    }
}

impl<A: KeyPart<KA>, B: KeyPart<KB>, KA, KB> Equivalent<(KA, KB)> for KeyRef<(A, B)> {
    #[inline]
    fn equivalent(&self, key: &(KA, KB)) -> bool {
        self.0.0.matches(&key.0) && self.0.1.matches(&key.1)
    }
}

impl<A: KeyPart<KA>, B: KeyPart<KB>, C: KeyPart<KC>, KA, KB, KC> Equivalent<(KA, KB, KC)>
    for KeyRef<(A, B, C)>
{
    #[inline]
    fn equivalent(&self, key: &(KA, KB, KC)) -> bool {
        self.0.0.matches(&key.0) && self.0.1.matches(&key.1) && self.0.2.matches(&key.2)
    }
}

/// A left outer join's matches: each matching row, or a single `None` (the row padded with
/// nulls) when nothing matches.
#[inline]
pub fn padded<'a, R: 'a>(
    matches: impl Iterator<Item = &'a R>,
) -> impl Iterator<Item = Option<&'a R>> {
    let mut matches = matches.peekable();
    let none = matches.peek().is_none();
    matches.map(Some).chain(none.then_some(None))
}

/// A query that joins its stream with a static table: how the table's rows are given to it
/// (`Query::read_stream(source).with_table(rows)`) and how its row loop finds the hashed table.
pub trait JoinTable {
    /// The table's row type (a `table` declared in `pipeline!`).
    type TableRow: crate::row::Row + Send + Sync + 'static;
    /// The hashed table the row loop probes.
    type Table: Send + Sync + 'static;

    /// Hashes `rows` by the join key.
    fn hash_table(rows: Vec<Self::TableRow>) -> Self::Table;

    /// Installs the hashed table.
    fn set_table(&mut self, table: Arc<Self::Table>);

    /// Makes the query read its table again from its files when they change (see
    /// [`TableReload`](super::TableReload)). The default ignores it (a query's stand-in).
    fn set_reload(&mut self, reload: super::TableReload) {
        let _ = reload;
    }

    /// The table's reload policy, if it has one.
    fn reload_mut(&mut self) -> Option<&mut super::TableReload> {
        None
    }
}

/// What a table's row loop reads from the batch context: the table a query was given, or an
/// error naming the query and the table when it was given none.
pub fn table_of<'a, T: Any>(
    shared: &'a Option<Arc<dyn Any + Send + Sync>>,
    query: &str,
    table: &str,
) -> Result<&'a T, Error> {
    shared
        .as_ref()
        .and_then(|t| t.downcast_ref::<T>())
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "query `{query}` joins the static table `{table}`, but was given no rows for \
                 it: start it with `{query}::read_stream(source).with_table(rows)`"
            ))
        })
}

impl BatchContext {
    /// The static table the batch's row loop probes (set by the query before it runs).
    pub fn static_table(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        self.static_table.clone()
    }

    /// Sets the static table the batch's row loop probes.
    pub fn set_static_table(&mut self, table: Option<Arc<dyn Any + Send + Sync>>) {
        self.static_table = table;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Device {
        id: Option<String>,
        room: &'static str,
    }

    fn device(id: Option<&str>, room: &'static str) -> Device {
        Device {
            id: id.map(str::to_string),
            room,
        }
    }

    fn table() -> StaticTable<String, Device> {
        StaticTable::build(
            vec![
                device(Some("a"), "kitchen"),
                device(None, "attic"),
                device(Some("b"), "hall"),
                device(Some("a"), "garage"),
            ],
            |d| d.id.clone(),
        )
    }

    #[test]
    fn several_rows_of_a_key_are_found_in_the_given_order_by_a_borrowed_key() {
        let t = table();
        let rooms: Vec<&str> = t.probe("a").iter().map(|d| d.room).collect();
        assert_eq!(rooms, ["kitchen", "garage"]);
        assert_eq!(t.probe("b"), [device(Some("b"), "hall")]);
        assert!(t.probe("c").is_empty());
        assert_eq!((t.len(), t.keys(), t.null_key_rows()), (3, 2, 1));
    }

    #[test]
    fn a_null_key_row_is_left_out_and_never_matches() {
        let t = table();
        assert!(t.probe("").is_empty());
        assert!(t.probe("attic").is_empty());
        assert!(!t.is_empty());
        let empty: StaticTable<String, Device> =
            StaticTable::build(vec![], |d: &Device| d.id.clone());
        assert!(empty.is_empty());
    }

    #[test]
    fn composite_keys_are_probed_by_value() {
        let t = StaticTable::build(vec![(1_i64, true, "x"), (1, false, "y")], |r| {
            Some((r.0, r.1))
        });
        assert_eq!(t.probe(&(1, false)), [(1, false, "y")]);
        assert!(t.probe(&(2, true)).is_empty());
    }

    #[test]
    fn a_composite_key_is_probed_by_its_borrowed_form() {
        let t = StaticTable::build(
            vec![("a".to_string(), 1_i64, "x"), ("a".to_string(), 2, "y")],
            |r| Some((r.0.clone(), r.1)),
        );
        assert_eq!(t.probe(&KeyRef(("a", 2_i64))), [("a".to_string(), 2, "y")]);
        assert!(t.probe(&KeyRef(("b", 2_i64))).is_empty());
        let t3 = StaticTable::build(vec![(1_i32, true, "k".to_string())], |r| {
            Some((r.0, r.1, r.2.clone()))
        });
        assert_eq!(t3.probe(&KeyRef((1_i32, true, "k"))).len(), 1);
        assert!(t3.probe(&KeyRef((1_i32, false, "k"))).is_empty());
    }

    #[test]
    fn padding_gives_one_none_only_when_nothing_matches() {
        let t = table();
        let rooms: Vec<Option<&str>> = padded(t.probe("a").iter())
            .map(|d| d.map(|d| d.room))
            .collect();
        assert_eq!(rooms, [Some("kitchen"), Some("garage")]);
        let none: Vec<Option<&Device>> = padded(t.probe("zz").iter()).collect();
        assert_eq!(none, [None]);
        // Matches an extra condition rejects are no matches.
        let filtered: Vec<Option<&Device>> =
            padded(t.probe("a").iter().filter(|d: &&Device| d.room == "cellar")).collect();
        assert_eq!(filtered, [None]);
    }

    #[test]
    fn a_missing_table_is_an_error_naming_the_query_and_the_table() {
        let err = table_of::<StaticTable<String, Device>>(&None, "Enriched", "Device")
            .expect_err("no table given");
        assert_eq!(
            err.to_string(),
            "query `Enriched` joins the static table `Device`, but was given no rows for it: \
             start it with `Enriched::read_stream(source).with_table(rows)`"
        );
        let given: Option<Arc<dyn Any + Send + Sync>> = Some(Arc::new(table()));
        let t = table_of::<StaticTable<String, Device>>(&given, "Enriched", "Device").unwrap();
        assert_eq!(t.len(), 3);
        // A table of another type is not taken for this one.
        assert!(table_of::<StaticTable<i64, Device>>(&given, "Enriched", "Device").is_err());
    }
}
