#![allow(clippy::unwrap_used)]
//! The store is layered (lib.rs): no file of `src/` imports another that
//! imports it back, directly or through others. A file imports another when
//! it names `crate::module::…` (in a `use` or inline); a name the crate root
//! holds (`crate::Store`) is an import of `lib.rs`, which only declares and
//! re-exports, so nothing may import through it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file of module path `segments` (the longest prefix that is a
/// module), relative to `src`; `lib.rs` when the first is not a module.
fn module_file(src: &Path, segments: &[String]) -> String {
    let mut found = "lib.rs".to_owned();
    let mut dir = PathBuf::new();
    for segment in segments {
        let file = dir.join(format!("{segment}.rs"));
        let folder = dir.join(segment).join("mod.rs");
        if src.join(&file).is_file() {
            found = file.to_string_lossy().into_owned();
        } else if src.join(&folder).is_file() {
            found = folder.to_string_lossy().into_owned();
        } else {
            break;
        }
        dir = dir.join(segment);
    }
    found
}

fn ident(text: &str) -> (String, &str) {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (text[..end].to_owned(), &text[end..])
}

/// Reads the use tree at the start of `text` (after `crate::`, under
/// `prefix`): `a::b::c`, or a `{a::b, c::{d, e}}` group. Pushes each path
/// named; returns the bytes read.
fn use_tree(text: &str, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut pos = 0;
    let mut path = prefix.to_vec();
    loop {
        if text[pos..].starts_with('{') {
            pos += 1;
            loop {
                let rest = &text[pos..];
                let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
                pos += rest.len() - trimmed.len();
                if trimmed.is_empty() {
                    return pos;
                }
                if trimmed.starts_with('}') {
                    return pos + 1;
                }
                let used = use_tree(trimmed, &path, out);
                if used == 0 {
                    return pos;
                }
                pos += used;
            }
        }
        let (name, after) = ident(&text[pos..]);
        if name.is_empty() {
            if path.len() > prefix.len() {
                out.push(path);
            }
            return pos;
        }
        pos += name.len();
        path.push(name);
        if after.starts_with("::") {
            pos += 2;
        } else {
            out.push(path);
            return pos;
        }
    }
}

/// The module path of a file: `[]` for lib.rs, `[a, b]` for a/b.rs or
/// a/b/mod.rs. A relative `use x::…` in it names its child module `x`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut path: Vec<String> = relative
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if matches!(path.last().map(String::as_str), Some("mod" | "lib")) {
        path.pop();
    }
    path
}

fn imports(src: &Path, file: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(file).unwrap();
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let used = use_tree(after, &[], &mut paths);
        rest = &after[used..];
    }
    // Relative imports of child modules (`pub use store::Store` in lib.rs).
    let here = module_path(src, file);
    for line in code.lines() {
        let line = line.trim_start();
        let line = line
            .strip_prefix("pub(crate) ")
            .or_else(|| line.strip_prefix("pub "))
            .unwrap_or(line);
        if let Some(tree) = line.strip_prefix("use ") {
            if !tree.starts_with("crate::") {
                use_tree(tree, &here, &mut paths);
            }
        }
    }
    paths.iter().map(|path| module_file(src, path)).collect()
}

/// A cycle of the graph, if there is one (depth-first search).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut found = stack[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, stack) {
                return Some(found);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(found) = visit(node, graph, &mut done, &mut Vec::new()) {
            return Some(found);
        }
    }
    None
}

fn graph_of(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(src, &mut files);
    files
        .iter()
        .map(|file| {
            let name = file
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let mut edges = imports(src, file);
            edges.remove(&name);
            (name, edges)
        })
        .collect()
}

#[test]
fn no_file_of_the_store_imports_itself_through_others() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph_of(&src);
    assert!(graph.len() > 20, "{graph:?}");
    // The checker sees the layering: the actions import the rows, and
    // the crate root is imported by nobody.
    assert!(graph["assessments.rs"].contains("rows/assessments.rs"));
    assert!(graph["queue.rs"].contains("rows/outbox.rs"));
    assert!(graph["lib.rs"].contains("store.rs"));
    let into_root: Vec<_> = graph
        .iter()
        .filter(|(_, edges)| edges.contains("lib.rs"))
        .map(|(file, _)| file)
        .collect();
    assert!(into_root.is_empty(), "import through lib.rs: {into_root:?}");
    assert_eq!(cycle(&graph), None, "an import circle");
    // Row mapping sits below the actions: it imports only the helpers.
    let helpers = ["error.rs", "model.rs", "sql.rs"];
    for (file, edges) in graph.iter().filter(|(f, _)| f.starts_with("rows/")) {
        let above: Vec<_> = edges
            .iter()
            .filter(|e| !helpers.contains(&e.as_str()) && !e.starts_with("rows/"))
            .collect();
        assert!(above.is_empty(), "{file} imports {above:?}");
    }
}

/// The checker finds a circle when there is one (the store before issue 16
/// had `assessments` → `sync` → `evidence` → `assessments`).
#[test]
fn the_checker_finds_a_circle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    fs::create_dir(src.join("rows")).unwrap();
    fs::write(
        src.join("lib.rs"),
        "mod a;\nmod b;\nmod rows;\npub use a::X;\n",
    )
    .unwrap();
    fs::write(src.join("a.rs"), "use crate::rows::{t::load, u};\n").unwrap();
    fs::write(src.join("rows/mod.rs"), "pub mod t;\npub mod u;\n").unwrap();
    fs::write(
        src.join("rows/t.rs"),
        "// use crate::a;\nfn f() { crate::b::g() }\n",
    )
    .unwrap();
    fs::write(src.join("rows/u.rs"), "").unwrap();
    fs::write(src.join("b.rs"), "use crate::{error::E, a::{self, Y}};\n").unwrap();
    let graph = graph_of(src);
    assert_eq!(
        graph["a.rs"],
        BTreeSet::from(["rows/t.rs".to_owned(), "rows/u.rs".to_owned()])
    );
    assert_eq!(graph["rows/t.rs"], BTreeSet::from(["b.rs".to_owned()]));
    assert!(graph["b.rs"].contains("a.rs"), "{graph:?}");
    let found = cycle(&graph).unwrap();
    assert_eq!(found.first(), found.last());
    assert!(found.contains(&"rows/t.rs".to_owned()), "{found:?}");
}
