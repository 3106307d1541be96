//! Replays every fuzz target's stored corpus (`fuzz/corpus/<target>/`, grown by `make fuzz`) through the same checks
//! the fuzzer runs (`app::fuzzing`), on stable Rust, so `make test` stays fast and every input the fuzzer ever
//! kept, crashes it found included, stays a regression test.

use std::path::Path;

#[test]
fn every_fuzz_target_passes_its_stored_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (name, check) in app::fuzzing::TARGETS {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut inputs = 0;
        for entry in entries {
            let path = entry.expect("a corpus entry").path();
            let data = std::fs::read(&path).expect("a corpus file");
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{name}: {} breaks an invariant", path.display());
            inputs += 1;
        }
        assert!(inputs > 0, "{name} has no corpus");
    }
}
