//! Compile-fail tests: each `tests/ui/<case>.rs` holds one mistake, and `<case>.stderr` pins the
//! error the user sees. Regenerate with `TRYBUILD=overwrite cargo test --test ui` (once with
//! `--all-features`, once without) and review every changed `.stderr`: the messages are part of
//! the DSL's interface. The expected output is rustc's, so it is pinned to the toolchain in
//! `rust-toolchain.toml`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    // rustc lists the sources and sinks a query could use, and the Kafka source and sink exist
    // only with their feature.
    if cfg!(feature = "kafka") {
        t.compile_fail("tests/ui/sinks-with-kafka/*.rs");
        t.compile_fail("tests/ui/continuous-with-kafka/*.rs");
    } else {
        t.compile_fail("tests/ui/sinks-without-kafka/*.rs");
        t.compile_fail("tests/ui/continuous-without-kafka/*.rs");
    }
}
