//! The host's modules form layers: no module reaches, through `crate::` paths, a module that
//! reaches it back. A cycle makes modules impossible to understand or change one at a time, so
//! this reads the sources and fails naming the cycle. Each capability folder counts as one
//! module (`capabilities::sqlite`), every other top-level file or folder as one; test code is
//! left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn host_modules_import_each_other_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).expect("under src");
        let segments: Vec<String> = relative
            .with_extension("")
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| s != "mod")
            .collect();
        let module = module_of(&segments);
        let text = std::fs::read_to_string(&file).expect("read source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let uses = graph.entry(module.clone()).or_default();
        for target in crate_paths(code) {
            if target != module {
                uses.insert(target);
            }
        }
    }
    assert!(graph.len() > 10, "read too few modules: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("host modules form a cycle: {}", cycle.join(" -> "));
    }
}

/// `capabilities::<name>` for a capability's files, else the first path segment.
fn module_of(segments: &[String]) -> String {
    match segments {
        [first, second, ..] if first == "capabilities" => format!("capabilities::{second}"),
        [first, ..] => first.clone(),
        [] => "main".into(),
    }
}

/// The modules named by `crate::a` or `crate::capabilities::b` paths (also inside `use crate::{..}`
/// groups, whose first names follow the brace).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end].split(',').map(str::trim).collect()
        } else {
            vec![rest]
        };
        for name in names {
            let mut parts = name
                .split("::")
                .map(|part| part.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_')));
            let first = parts.next().unwrap_or_default();
            let first = first
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default();
            if first.is_empty() || first.starts_with(char::is_uppercase) {
                continue;
            }
            if first == "capabilities" {
                if let Some(second) = parts.next().filter(|s| !s.is_empty()) {
                    let second = second
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or_default();
                    found.insert(format!("capabilities::{second}"));
                    continue;
                }
            }
            found.insert(first.to_owned());
        }
    }
    found
}

fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_cycle_is_found_and_named() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    graph.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn crate_paths_are_read_from_uses_and_groups() {
    let code =
        "use crate::runtime::AppRuntime;\nuse crate::{authority, capabilities::sqlite::Db};\n\
                let x = crate::capabilities::wasi::flush();";
    let found: Vec<String> = crate_paths(code).into_iter().collect();
    assert_eq!(
        found,
        [
            "authority",
            "capabilities::sqlite",
            "capabilities::wasi",
            "runtime"
        ]
    );
}
