//! Compile-time checks of the router macro: every `pass` case compiles
//! (warnings denied), every `fail` case fails with the reviewed message in
//! its `.stderr`, pointing at the user's tokens.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
