//! Compile-fail tests: each `tests/ui/<case>.rs` holds one mistake, and `<case>.stderr` pins the
//! error the user sees. Regenerate with `TRYBUILD=overwrite cargo test --test ui` and review
//! every changed `.stderr`: the messages are part of the DSL's interface. The expected output
//! is rustc's, so it is pinned to the toolchain CI runs.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
