//! The validated plan: what `check` produces and `codegen` consumes. Every name is resolved,
//! every expression typed (with Spark's rules already applied: implicit casts are explicit
//! `Cast` nodes), every rule checked. Codegen trusts it and never re-validates.
//!
//! A pipeline is a straight-line program over *slots* (values computed once per row):
//! input fields, computed columns, and after an aggregation, group keys and aggregate results.
//! Column names are only a view on slots, so `select` and `rename` cost nothing at run time.

use proc_macro2::Ident;

use crate::diagnostics::SpanRange;
use crate::functions::Call;

/// A Spark SQL type as the compiler tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Ty {
    Bool,
    Int,
    Long,
    Double,
    Str,
    Timestamp,
    Window,
    StrArray,
    /// `BINARY`: bytes (a Kafka record's key and value).
    Binary,
    /// A Kafka record's headers, `ARRAY<STRUCT<key: STRING, value: BINARY>>`.
    Headers,
    /// The type of the `null` literal before it meets another type.
    Null,
}

impl Ty {
    /// Spark's SQL name, for messages.
    pub(crate) fn sql_name(self) -> &'static str {
        match self {
            Ty::Bool => "BOOLEAN",
            Ty::Int => "INT",
            Ty::Long => "BIGINT",
            Ty::Double => "DOUBLE",
            Ty::Str => "STRING",
            Ty::Timestamp => "TIMESTAMP",
            Ty::Window => "STRUCT<start: TIMESTAMP, end: TIMESTAMP>",
            Ty::StrArray => "ARRAY<STRING>",
            Ty::Binary => "BINARY",
            Ty::Headers => "ARRAY<STRUCT<key: STRING, value: BINARY>>",
            Ty::Null => "VOID",
        }
    }

    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Long | Ty::Double)
    }

    pub(crate) fn is_integral(self) -> bool {
        matches!(self, Ty::Int | Ty::Long)
    }

    /// Whether values of this type are `Copy` in Rust (no allocation to pass around).
    pub(crate) fn is_copy(self) -> bool {
        !matches!(self, Ty::Str | Ty::StrArray | Ty::Binary | Ty::Headers)
    }
}

/// A type with its nullability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SqlType {
    pub(crate) ty: Ty,
    pub(crate) nullable: bool,
}

impl SqlType {
    pub(crate) const fn new(ty: Ty, nullable: bool) -> Self {
        SqlType { ty, nullable }
    }

    pub(crate) const fn non_null(ty: Ty) -> Self {
        SqlType {
            ty,
            nullable: false,
        }
    }

    /// How the type is written in messages: `BIGINT`, or `STRING (nullable)`.
    pub(crate) fn describe(self) -> String {
        if self.nullable && self.ty != Ty::Null {
            format!("{} (nullable)", self.ty.sql_name())
        } else {
            self.ty.sql_name().to_string()
        }
    }
}

/// Index of a slot in [`PipelinePlan::slots`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SlotId(pub(crate) usize);

/// How a slot gets its value.
#[derive(Debug, Clone)]
pub(crate) enum SlotDef {
    /// A field of the input row.
    Input { field: Ident },
    /// A computed column.
    Let(Expr),
    /// Group key `n` (after the aggregation).
    Key(usize),
    /// The window struct of the window key (after the aggregation).
    WindowKey,
    /// The result of accumulator `n` (after the aggregation).
    Agg(usize),
    /// A `parse` clause's decoding of one row's payload; the slot's value (BOOLEAN) is whether
    /// the row is kept (false for a malformed record under `drop_malformed`).
    Decode(Box<Decode>),
    /// Column `index` of the schema a `Decode` slot decoded into.
    Decoded { record: SlotId, index: usize },
    /// The element (or the 0-based position) a generator produces: bound by the generator's
    /// loop in the row loop.
    Generated,
    /// Column `column` of the static table's matching row, bound in the join's loop; `padded`:
    /// of a left outer join's output, null when no row matched.
    Joined { column: usize, padded: bool },
}

impl SlotDef {
    /// Calls `f` on every slot this one is computed from.
    pub(crate) fn for_each_dep(&self, f: &mut impl FnMut(SlotId)) {
        match self {
            SlotDef::Let(e) => e.for_each_slot(f),
            SlotDef::Decode(d) => d.payload.for_each_slot(f),
            SlotDef::Decoded { record, .. } => f(*record),
            SlotDef::Input { .. }
            | SlotDef::Key(_)
            | SlotDef::WindowKey
            | SlotDef::Agg(_)
            | SlotDef::Generated
            | SlotDef::Joined { .. } => {}
        }
    }
}

/// The payload formats a `parse` clause reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeFormat {
    Json,
    Csv,
}

/// What a `parse` clause does with a malformed record (the runtime's `ParseMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeMode {
    Permissive,
    DropMalformed,
    FailFast,
}

/// A format option of a `parse` clause: the runtime builder method and its argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DecodeOption {
    Text(&'static str, String),
    Char(&'static str, char),
}

/// A checked `parse` clause.
#[derive(Debug, Clone)]
pub(crate) struct Decode {
    /// A STRING or BINARY expression.
    pub(crate) payload: Expr,
    pub(crate) format: DecodeFormat,
    pub(crate) options: Vec<DecodeOption>,
    /// The declared schema's row type (its `Row::SCHEMA` drives the decoder).
    pub(crate) schema: Ident,
    pub(crate) mode: DecodeMode,
    /// The payload as written, for error messages (`value`).
    pub(crate) column: String,
}

/// A value computed at most once per row.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) def: SlotDef,
    pub(crate) ty: SqlType,
    /// The column name it was first bound to, for readable generated code.
    pub(crate) name: String,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(String),
    Timestamp(i64),
    Null,
}

/// Arithmetic operators (operands already coerced to the result type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// Whether an arithmetic node needs Spark's ANSI checks at run time (overflow, division by
/// zero). The checker marks every node `Checked`; `optimize` marks those it proves cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ansi {
    /// Checked at run time, failing as Spark's ANSI mode does.
    Checked,
    /// Proven unable to overflow or fail: the plain operator.
    Unchecked,
}

/// Comparison operators (operands already coerced to a common type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A typed expression.
#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub(crate) kind: ExprKind,
    pub(crate) ty: SqlType,
    pub(crate) span: SpanRange,
}

/// Expression nodes.
#[derive(Debug, Clone)]
pub(crate) enum ExprKind {
    Slot(SlotId),
    Lit(Literal),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>, Ansi),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Case {
        branches: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Cast(Box<Expr>),
    /// A scalar function (see [`crate::functions`]).
    Call(Call),
    /// `window.start` (`false`) or `window.end` (`true`).
    WindowField {
        window: Box<Expr>,
        end: bool,
    },
    CurrentTimestamp,
    /// A timestamp plus a constant interval (µs; negative for `- interval ...`).
    TimeShift(Box<Expr>, i64),
}

impl Expr {
    /// `x` when this is `cast(x as string)` of a value that is not a string: what `concat`
    /// prints without building the string first (see `optimize/strings.rs`).
    pub(crate) fn cast_to_string_of(&self) -> Option<&Expr> {
        match &self.kind {
            ExprKind::Cast(inner)
                if self.ty.ty == Ty::Str && !matches!(inner.ty.ty, Ty::Str | Ty::Null) =>
            {
                Some(inner)
            }
            _ => None,
        }
    }

    /// Calls `f` on every slot the expression reads.
    pub(crate) fn for_each_slot(&self, f: &mut impl FnMut(SlotId)) {
        match &self.kind {
            ExprKind::Slot(s) => f(*s),
            ExprKind::Lit(_) | ExprKind::CurrentTimestamp => {}
            ExprKind::Neg(e) | ExprKind::Not(e) | ExprKind::Cast(e) | ExprKind::TimeShift(e, _) => {
                e.for_each_slot(f)
            }
            ExprKind::IsNull { expr, .. } => expr.for_each_slot(f),
            ExprKind::WindowField { window, .. } => window.for_each_slot(f),
            ExprKind::Arith(_, a, b, _)
            | ExprKind::Cmp(_, a, b)
            | ExprKind::And(a, b)
            | ExprKind::Or(a, b) => {
                a.for_each_slot(f);
                b.for_each_slot(f);
            }
            ExprKind::Case {
                branches,
                otherwise,
            } => {
                for (c, v) in branches {
                    c.for_each_slot(f);
                    v.for_each_slot(f);
                }
                if let Some(o) = otherwise {
                    o.for_each_slot(f);
                }
            }
            ExprKind::Call(call) => call.args.iter().for_each(|a| a.for_each_slot(f)),
        }
    }

    /// Whether the expression is a literal.
    pub(crate) fn literal(&self) -> Option<&Literal> {
        match &self.kind {
            ExprKind::Lit(l) => Some(l),
            _ => None,
        }
    }
}

/// Where a pre-aggregation filter runs in the row loop: Spark's optimizer pushes a filter down
/// until it meets a node it cannot pass, and the row loop keeps that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterPhase {
    /// A simple predicate on a source column against a literal: Spark pushes it into the file
    /// scan, so rows it rejects are not even counted as input.
    Scan,
    /// Evaluated before every stage of the row loop: it passes every watermark (it does not
    /// read their columns) and every generator (it does not read what they produce).
    Start,
    /// Right after stage `n` of [`PipelinePlan::stages`], the latest one it cannot pass: a
    /// watermark whose event-time column it reads (the watermark sees every row, even those this
    /// filter then drops), a generator whose output it reads, or a deduplication (a filter never
    /// moves below one: it would change which row of a key comes first).
    After(usize),
}

/// A node of the row loop that filters cannot always move past, in clause order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Watermark `n` observes the row's event time.
    Watermark(usize),
    /// Generator `n` turns the row into one row per element.
    Generate(usize),
    /// The deduplication drops late rows and repeated keys.
    Dedup,
    /// The stream-static join turns the row into one row per matching table row.
    Join,
}

/// The stream-static joins a query may have (Spark rejects right and full outer joins with
/// the stream on the left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinType {
    Inner,
    LeftOuter,
}

impl JoinType {
    /// Spark's name (`Inner`, `LeftOuter`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            JoinType::Inner => "Inner",
            JoinType::LeftOuter => "LeftOuter",
        }
    }
}

/// A column of a static table.
#[derive(Debug, Clone)]
pub(crate) struct TableColumn {
    pub(crate) field: Ident,
    pub(crate) name: String,
    /// As declared.
    pub(crate) ty: SqlType,
}

/// A stream-static join: the static table's rows hashed by `keys`' table columns, probed with
/// the stream's.
#[derive(Debug, Clone)]
pub(crate) struct Join {
    pub(crate) kind: JoinType,
    /// The table's row type.
    pub(crate) table: Ident,
    pub(crate) columns: Vec<TableColumn>,
    /// Equi-join keys: the stream's slot and the table's column index, in the order written.
    pub(crate) keys: Vec<(SlotId, usize)>,
    /// A left outer join's extra condition, over the stream's slots and the table's
    /// (unpadded) [`SlotDef::Joined`] slots: a match it rejects is no match. An inner join's
    /// extra condition is a filter after the join.
    pub(crate) condition: Option<Expr>,
}

/// A stream-stream join (`from A join B on ...`): the query's own clauses read the joined rows
/// of two sides, each a query or a source of the block run as its own pipeline.
#[derive(Debug, Clone)]
pub(crate) struct StreamJoin {
    pub(crate) kind: StreamJoinKind,
    pub(crate) left: JoinSide,
    pub(crate) right: JoinSide,
    /// The joined row's fields, in order: the left side's columns, then (except in a left semi
    /// join) the right side's.
    pub(crate) fields: Vec<JoinedField>,
    /// The condition's slots (the sides' columns, unpadded): which side, and its field.
    pub(crate) condition_slots: Vec<(SlotId, JoinSideId, Ident)>,
    /// The equi-join keys: a left and a right condition slot each.
    pub(crate) keys: Vec<(SlotId, SlotId)>,
    /// The conjuncts that read the left side only, the right side only, and both.
    pub(crate) left_only: Option<Expr>,
    pub(crate) right_only: Option<Expr>,
    pub(crate) both: Option<Expr>,
    pub(crate) left_expiry: Expiry,
    pub(crate) right_expiry: Expiry,
    /// Under key expiry, the key part holding the watermarked event time.
    pub(crate) key_time: Option<usize>,
}

/// The kinds of stream-stream join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamJoinKind {
    Inner,
    LeftOuter,
    RightOuter,
    FullOuter,
    LeftSemi,
}

impl StreamJoinKind {
    /// Whether it is an outer join (left, right or full).
    pub(crate) fn is_outer(self) -> bool {
        matches!(
            self,
            StreamJoinKind::LeftOuter | StreamJoinKind::RightOuter | StreamJoinKind::FullOuter
        )
    }

    /// Spark's rejection of `mode` (`"Update"`, `"Complete"`) for this join.
    pub(crate) fn mode_message(self, mode: &str) -> String {
        let allowed = if self.is_outer() {
            "only in Append output mode"
        } else {
            "only in Append and Update output modes"
        };
        format!(
            "{} join between two streaming DataFrames/Datasets is not supported in {mode} output mode, {allowed}",
            self.spark_name()
        )
    }

    /// Spark's name of the join type (`LeftOuter`, ...), as its messages spell it.
    pub(crate) fn spark_name(self) -> &'static str {
        match self {
            StreamJoinKind::Inner => "Inner",
            StreamJoinKind::LeftOuter => "LeftOuter",
            StreamJoinKind::RightOuter => "RightOuter",
            StreamJoinKind::FullOuter => "FullOuter",
            StreamJoinKind::LeftSemi => "LeftSemi",
        }
    }
}

/// Which side of a stream-stream join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinSideId {
    Left,
    Right,
}

/// One side of a stream-stream join.
#[derive(Debug, Clone)]
pub(crate) struct JoinSide {
    /// Its name as written (`from A`, `join B`).
    pub(crate) name: String,
    /// The side's rows: a query's output rows, or a source's rows as they come.
    pub(crate) row: JoinSideRow,
    /// Its columns: field, name, type.
    pub(crate) columns: Vec<(Ident, String, SqlType)>,
    /// Its watermark clauses (the query's watermark nodes; at most one per side).
    pub(crate) watermarks: Vec<Watermark>,
    /// The column holding the watermarked event time, if the side still has it.
    pub(crate) event_time: Option<usize>,
    /// The side's own pipeline, when the join pushes filters into it (Spark's optimizer moves
    /// a side's join conjuncts and the `IS NOT NULL` of its keys into the side's plan, below
    /// its watermark): the side's clauses and those filters. `None`: the side runs as is.
    pub(crate) pipeline: Option<Box<PipelinePlan>>,
}

/// What a side of a stream-stream join is.
#[derive(Debug, Clone)]
pub(crate) enum JoinSideRow {
    /// A query of the block (its pipeline struct).
    Query(Ident),
    /// A source: a schema or a built-in source.
    Source(InputRow),
}

/// A field of the joined row: which side's column, and whether a null-padded row can hold it.
#[derive(Debug, Clone)]
pub(crate) struct JoinedField {
    pub(crate) field: Ident,
    pub(crate) side: JoinSideId,
    pub(crate) column: usize,
    pub(crate) ty: SqlType,
}

/// When a side's state expires (see the runtime's `StateExpiry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expiry {
    Never,
    Key,
    /// Each bound: µs added to the watermark, and whether it is inclusive.
    Value(Vec<(i64, bool)>),
}

/// Which generator a `select` item calls (Spark's `Explode` / `PosExplode`, `outer` or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GeneratorKind {
    /// `posexplode`: a position column before the element.
    pub(crate) position: bool,
    /// `explode_outer` / `posexplode_outer`: a null or empty array gives one row of nulls.
    pub(crate) outer: bool,
}

impl GeneratorKind {
    /// The function's name.
    pub(crate) fn name(self) -> &'static str {
        match (self.position, self.outer) {
            (false, false) => "explode",
            (true, false) => "posexplode",
            (false, true) => "explode_outer",
            (true, true) => "posexplode_outer",
        }
    }
}

/// A generator: `explode(array)` and its variants in a `select` (or `with`).
#[derive(Debug, Clone)]
pub(crate) struct Generator {
    pub(crate) kind: GeneratorKind,
    /// The array, an `ARRAY<STRING>` expression. A `split(s, sep)` is iterated part by part,
    /// without building the array.
    pub(crate) array: Expr,
    /// The element slot ([`SlotDef::Generated`]).
    pub(crate) element: SlotId,
    /// The position slot, for `posexplode`.
    pub(crate) position: Option<SlotId>,
}

/// When the watermark lets a deduplicated key go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DedupExpiry {
    /// Never: the key holds no watermarked event time (or there is no watermark).
    Never,
    /// When the watermark reaches the event time the key holds (key part `n`).
    KeyEventTime(usize),
    /// `within watermark`: the watermark delay (µs) after the key's first row.
    WithinWatermark { delay_micros: i64 },
}

/// A `drop duplicates` clause.
#[derive(Debug, Clone)]
pub(crate) struct Dedup {
    /// The key columns' slots, in order.
    pub(crate) keys: Vec<SlotId>,
    /// The key columns' names (for the key struct's fields).
    pub(crate) names: Vec<String>,
    pub(crate) within_watermark: bool,
    /// The watermarked event-time column of the deduplication's input, if any: rows at or
    /// before the previous watermark are late.
    pub(crate) event_time: Option<SlotId>,
    pub(crate) expiry: DedupExpiry,
    /// Whether a watermark is defined before the clause (the watermark reaches the operator).
    pub(crate) watermarked: bool,
}

/// A filter (`where`) before the aggregation.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub(crate) pred: Expr,
    pub(crate) phase: FilterPhase,
}

/// A `watermark` clause.
#[derive(Debug, Clone)]
pub(crate) struct Watermark {
    pub(crate) column: String,
    /// The clause's column, for messages about this watermark.
    pub(crate) span: SpanRange,
    pub(crate) slot: SlotId,
    pub(crate) delay_micros: i64,
}

/// How a group key is stored in the state map.
#[derive(Debug, Clone)]
pub(crate) enum KeyRepr {
    /// The value itself.
    Direct { slot: SlotId },
    /// The start of the event-time window (µs); the window is `[start, start + size)`.
    Window { ts: SlotId, size: i64, slide: i64 },
    /// `concat(prefix, n, suffix)` with `n` integral: the key stores `n`, the string is rebuilt
    /// only when a row is emitted (no allocation per input row).
    ConcatInt {
        prefix: String,
        inner: SlotId,
        suffix: String,
    },
    /// A `case` whose every result is a string literal: the key stores the branch index.
    CaseIndex {
        conditions: Vec<Expr>,
        values: Vec<String>,
        otherwise: Option<String>,
    },
    /// `session_window(ts, gap)`: not part of the state's key, the sessions of a key are its
    /// value; a row at `ts` opens `[ts, ts + gap)`.
    Session { ts: SlotId, gap: i64 },
}

/// A `group by` key.
#[derive(Debug, Clone)]
pub(crate) struct GroupKey {
    pub(crate) name: String,
    /// The key as written in `group by`.
    pub(crate) span: SpanRange,
    pub(crate) repr: KeyRepr,
    /// The key's column type (for a window key: `Window`).
    pub(crate) ty: SqlType,
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AggFunc {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

impl AggFunc {
    pub(crate) fn name(self) -> &'static str {
        match self {
            AggFunc::CountStar | AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
        }
    }
}

/// One accumulator kept per group.
#[derive(Debug, Clone)]
pub(crate) struct Accumulator {
    pub(crate) func: AggFunc,
    /// The aggregate call that created it (the first, when several share it).
    pub(crate) span: SpanRange,
    /// The argument (a pre-aggregation slot); `None` for `count(*)`.
    pub(crate) arg: Option<SlotId>,
    /// The argument's type.
    pub(crate) arg_ty: Option<SqlType>,
    /// The result type. Non-null results (a non-null argument in a keyed group, which exists
    /// only once a row reached it) use accumulators without a "seen" flag.
    pub(crate) ty: SqlType,
}

/// The aggregation.
#[derive(Debug, Clone)]
pub(crate) struct Aggregate {
    pub(crate) keys: Vec<GroupKey>,
    pub(crate) accumulators: Vec<Accumulator>,
    /// The key through which the watermark finalises groups: a window (or session window) over
    /// the watermarked column, or that column itself. `None`: groups are never late nor evicted.
    pub(crate) event_time_key: Option<usize>,
}

impl Aggregate {
    /// The `session_window(ts, gap)` key, if the aggregation has one: its index, `ts` and gap.
    pub(crate) fn session(&self) -> Option<(usize, SlotId, i64)> {
        self.keys
            .iter()
            .enumerate()
            .find_map(|(i, k)| match k.repr {
                KeyRepr::Session { ts, gap } => Some((i, ts, gap)),
                _ => None,
            })
    }
}

/// Why an output mode is not supported, in Spark's words (a runtime constant name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModeRejection {
    AppendAggregationWithoutWatermark,
    CompleteWithoutAggregation,
    SortNotInComplete,
    LimitInUpdate,
    SessionWindowInUpdate,
    /// An outer stream-stream join in update mode.
    StreamJoinInUpdate,
    /// A stream-stream join (with an aggregation after it) in complete mode.
    StreamJoinInComplete,
}

impl ModeRejection {
    /// Every rule, each a marker trait in the runtime.
    pub(crate) const ALL: [ModeRejection; 7] = [
        ModeRejection::AppendAggregationWithoutWatermark,
        ModeRejection::CompleteWithoutAggregation,
        ModeRejection::SortNotInComplete,
        ModeRejection::LimitInUpdate,
        ModeRejection::SessionWindowInUpdate,
        ModeRejection::StreamJoinInUpdate,
        ModeRejection::StreamJoinInComplete,
    ];
}

/// Why a query cannot run with a continuous trigger: the operation of Spark's
/// `checkForContinuous` it has that continuous processing does not support (the first, in the
/// order of [`ContinuousRejection::ALL`]). Each is a marker trait in the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContinuousRejection {
    Watermark,
    Deduplicate,
    Aggregation,
    Limit,
    CurrentTime,
    StreamJoin,
}

impl ContinuousRejection {
    /// Every rule, in the order a query is checked against them: bottom-up in the plan, as
    /// Spark's checker walks it (the watermark sits below a deduplication, which sits below
    /// the aggregation; the limit above).
    pub(crate) const ALL: [ContinuousRejection; 6] = [
        ContinuousRejection::Watermark,
        ContinuousRejection::Deduplicate,
        ContinuousRejection::Aggregation,
        ContinuousRejection::Limit,
        ContinuousRejection::CurrentTime,
        ContinuousRejection::StreamJoin,
    ];
}

/// An `order by` key over the output.
#[derive(Debug, Clone)]
pub(crate) struct OrderKey {
    pub(crate) expr: Expr,
    /// The key as written in `order by`.
    pub(crate) span: SpanRange,
    pub(crate) descending: bool,
    pub(crate) nulls_first: bool,
}

/// A `limit` clause.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit {
    pub(crate) rows: u64,
    pub(crate) span: SpanRange,
}

/// An output column.
#[derive(Debug, Clone)]
pub(crate) struct OutputColumn {
    /// The Rust field name (raw identifiers kept).
    pub(crate) ident: Ident,
    /// The column name.
    pub(crate) name: String,
    pub(crate) slot: SlotId,
    pub(crate) ty: SqlType,
}

/// A source built into the runtime, with a row type of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuiltinSource {
    /// The rate source's rows (`RateRow`).
    Rate,
    /// Text lines of the socket source (`TextLine`).
    TextLine,
    /// Records of the Kafka source (`KafkaRow`).
    Kafka,
}

impl BuiltinSource {
    /// Every built-in source.
    pub(crate) const ALL: [BuiltinSource; 3] = [
        BuiltinSource::Rate,
        BuiltinSource::TextLine,
        BuiltinSource::Kafka,
    ];

    /// The name a `from` uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            BuiltinSource::Rate => "Rate",
            BuiltinSource::TextLine => "TextLine",
            BuiltinSource::Kafka => "Kafka",
        }
    }

    /// The source named `name`, if it is built in.
    pub(crate) fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The row type's columns, in order, as Spark's schema of that source has them.
    pub(crate) fn columns(self) -> &'static [(&'static str, SqlType)] {
        const RATE: &[(&str, SqlType)] = &[
            ("timestamp", SqlType::non_null(Ty::Timestamp)),
            ("value", SqlType::non_null(Ty::Long)),
        ];
        const TEXT_LINE: &[(&str, SqlType)] = &[
            ("value", SqlType::non_null(Ty::Str)),
            ("timestamp", SqlType::non_null(Ty::Timestamp)),
        ];
        // Spark's Kafka schema (`timestampType` as `timestamp_type`, a Rust field name).
        const KAFKA: &[(&str, SqlType)] = &[
            ("key", SqlType::new(Ty::Binary, true)),
            ("value", SqlType::new(Ty::Binary, true)),
            ("topic", SqlType::non_null(Ty::Str)),
            ("partition", SqlType::non_null(Ty::Int)),
            ("offset", SqlType::non_null(Ty::Long)),
            ("timestamp", SqlType::non_null(Ty::Timestamp)),
            ("timestamp_type", SqlType::non_null(Ty::Int)),
            ("headers", SqlType::new(Ty::Headers, true)),
        ];
        match self {
            BuiltinSource::Rate => RATE,
            BuiltinSource::TextLine => TEXT_LINE,
            BuiltinSource::Kafka => KAFKA,
        }
    }
}

/// The row type a pipeline reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InputRow {
    /// A built-in source's row.
    Builtin(BuiltinSource),
    /// A `schema` declared in the pipeline.
    Schema(Ident),
    /// The joined rows of a stream-stream join (a struct generated with the query).
    Joined(Ident),
}

/// Where the rows come from.
#[derive(Debug, Clone)]
pub(crate) struct InputSource {
    /// The row type.
    pub(crate) row: InputRow,
    /// Its name as written in `from` (or the root of a chain).
    pub(crate) name: String,
}

/// A fully checked pipeline.
#[derive(Debug, Clone)]
pub(crate) struct PipelinePlan {
    pub(crate) name: Ident,
    pub(crate) vis: syn::Visibility,
    pub(crate) docs: Vec<syn::Attribute>,
    pub(crate) input: InputSource,
    pub(crate) slots: Vec<Slot>,
    pub(crate) filters: Vec<Filter>,
    pub(crate) watermarks: Vec<Watermark>,
    /// The row loop's watermarks, generators and deduplication, in clause order.
    pub(crate) stages: Vec<Stage>,
    pub(crate) generators: Vec<Generator>,
    pub(crate) dedup: Option<Dedup>,
    pub(crate) join: Option<Join>,
    pub(crate) stream_join: Option<StreamJoin>,
    pub(crate) aggregate: Option<Aggregate>,
    pub(crate) post_filters: Vec<Expr>,
    pub(crate) outputs: Vec<OutputColumn>,
    pub(crate) order_by: Vec<OrderKey>,
    pub(crate) limit: Option<Limit>,
    pub(crate) rejected_modes: Vec<(crate::plan::Mode, ModeRejection)>,
    /// Every output-mode rule the query breaks (a mode may be rejected for one of them only).
    pub(crate) broken_rules: Vec<ModeRejection>,
    /// Why the query cannot run continuously (`None`: it can).
    pub(crate) continuous_rejection: Option<ContinuousRejection>,
    /// A readable rendering of the plan (also hashed into the fingerprint).
    pub(crate) explain: String,
}

/// Output modes, as the compiler names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Append,
    Complete,
    Update,
}

impl PipelinePlan {
    pub(crate) fn slot(&self, id: SlotId) -> &Slot {
        &self.slots[id.0]
    }

    pub(crate) fn supports(&self, mode: Mode) -> bool {
        !self.rejected_modes.iter().any(|(m, _)| *m == mode)
    }
}
