//! Tidy test: inside the node, modules import only from layers below their own.
//!
//! The layers (ARCHITECTURE.md, "Inside the node"), lowest first. A module may name
//! `crate::x` only for an `x` in a lower layer, so the wiring reads bottom-up and no two
//! modules need each other.

use std::collections::BTreeMap;
use std::path::Path;

const LAYERS: &[&[&str]] = &[
    &["limits"],
    &["config", "categories", "metrics"],
    &["results", "policy_results", "proposals", "raft", "p2p"],
    &["shared"],
    &["wire"],
    &["raft_network", "mpc_session", "psi_session"],
    &["chain", "submit"],
    &["assess", "backup"],
    &["api"],
    &["run"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// `crate::x` paths named in a file's code (comments and doc comments skipped).
fn crate_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
            rest = after;
        }
    }
    found
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn node_modules_import_only_from_lower_layers() {
    let src =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut offenders = BTreeMap::new();
    let mut checked = 0;
    for path in all {
        let rel = path.strip_prefix(&src).expect("under src");
        let first = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a name");
        let module = first.trim_end_matches(".rs");
        if matches!(module, "lib" | "main") {
            continue;
        }
        // Unit tests may reach across layers to build fixtures.
        if rel
            .components()
            .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "tests.rs")
        {
            continue;
        }
        let own = layer_of(module).unwrap_or_else(|| {
            panic!("module `{module}` has no layer: add it to LAYERS and ARCHITECTURE.md")
        });
        let text = std::fs::read_to_string(&path).expect("read");
        for used in crate_paths(&text) {
            if used == module {
                continue;
            }
            checked += 1;
            match layer_of(&used) {
                Some(l) if l < own => {}
                _ => {
                    offenders
                        .entry(rel.display().to_string())
                        .or_insert_with(Vec::new)
                        .push(used);
                }
            }
        }
    }
    assert!(checked > 50, "the scan found only {checked} imports");
    assert!(
        offenders.is_empty(),
        "imports from the same or a higher layer: {offenders:#?}"
    );
}

#[test]
fn the_scan_sees_an_upward_import() {
    let paths = crate_paths("use crate::api::App;\nlet x = crate::run::go();\n/// crate::chain\n");
    assert_eq!(paths, ["api", "run"]);
}
